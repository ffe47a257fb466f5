// Exit codes and the error classes that carry them, so `main()` can end with `process.exitCode = err.exitCode`.

/** The process ended normally. */
export const EXIT_OK = 0
/** Generic failure: an uncaught exception, an unhandled rejection, a close that missed its deadline. */
export const EXIT_FAILURE = 1
/** A dependency (database, broker, upstream API) stayed unreachable; see {@link DependencyUnavailableError}. */
export const EXIT_DEPENDENCY_UNAVAILABLE = 70
/** The configuration was rejected before anything started. */
export const EXIT_INVALID_CONFIG = 71
/** The server could not bind its port (in use, or not permitted); see {@link PortUnavailableError}. */
export const EXIT_PORT_UNAVAILABLE = 72

/**
 * The same exit codes as one object.
 *
 * @example
 * process.exitCode = ExitCode.INVALID_CONFIG
 */
export const ExitCode = Object.freeze({
  OK: EXIT_OK,
  FAILURE: EXIT_FAILURE,
  DEPENDENCY_UNAVAILABLE: EXIT_DEPENDENCY_UNAVAILABLE,
  INVALID_CONFIG: EXIT_INVALID_CONFIG,
  PORT_UNAVAILABLE: EXIT_PORT_UNAVAILABLE,
} as const)

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * `start()` could not bind its port. Nothing is left listening and the context has been destroyed.
 *
 * @example
 * try { await server.start() } catch (err) {
 *   if (err instanceof PortUnavailableError) process.exitCode = err.exitCode // 72
 *   throw err
 * }
 */
export class PortUnavailableError extends Error {
  override readonly name = 'PortUnavailableError'
  /** Always {@link EXIT_PORT_UNAVAILABLE} (72). */
  readonly exitCode = EXIT_PORT_UNAVAILABLE
  /** The system error code, usually `EADDRINUSE` or `EACCES`. */
  readonly code: string
  readonly port: number
  readonly host: string

  constructor(port: number, host: string, cause: NodeJS.ErrnoException) {
    const code = cause.code ?? 'UNKNOWN'
    const where = `${host}:${port}`
    let advice: string
    if (code === 'EADDRINUSE') {
      advice = `Port ${port} on ${host} is already in use (EADDRINUSE). Stop the process holding it, choose another port, or use port 0 to let the system pick.`
    } else if (code === 'EACCES') {
      advice = `Not allowed to bind ${where} (EACCES). Use a port above 1023, or grant the process the right to bind low ports.`
    } else if (code === 'EADDRNOTAVAIL') {
      advice = `Address ${host} is not available on this machine (EADDRNOTAVAIL). Check the \`host\` option.`
    } else {
      advice = `Could not listen on ${where} (${code}).`
    }
    super(advice, { cause })
    this.code = code
    this.port = port
    this.host = host
  }
}

/**
 * {@link connectWithBackoff} ran out of attempts. `cause` is the error of the last attempt.
 *
 * @example
 * const db = await connectWithBackoff(() => openDb(url), { attempts: 5 })
 *   .catch((err) => { process.exitCode = err.exitCode; throw err }) // 70
 */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError'
  /** Always {@link EXIT_DEPENDENCY_UNAVAILABLE} (70). */
  readonly exitCode = EXIT_DEPENDENCY_UNAVAILABLE
  /** How many times `connect` was called. */
  readonly attempts: number

  constructor(message: string, attempts: number, cause: unknown) {
    super(message, { cause })
    this.attempts = attempts
  }
}

/**
 * A cluster's workers kept crashing: `respawn.maxCrashes` exits within `respawn.windowMs`. The primary stopped
 * respawning (a worker that dies at start-up would otherwise be forked again and again) and set exit code 1.
 *
 * @example
 * await primary.start().catch((err) => { if (err instanceof ClusterCrashLoopError) console.error(err.message) })
 */
export class ClusterCrashLoopError extends Error {
  override readonly name = 'ClusterCrashLoopError'
  /** Always {@link EXIT_FAILURE} (1). */
  readonly exitCode = EXIT_FAILURE
  /** How many workers exited unexpectedly within `windowMs`. */
  readonly crashes: number
  readonly windowMs: number

  constructor(crashes: number, windowMs: number, lastPid: number, how: string) {
    super(
      `Workers crashed ${crashes} times within ${windowMs} ms (the last, pid ${lastPid}, exited with ${how}); ` +
        'giving up instead of respawning in a loop. Fix the crash (see the worker output above), or raise `respawn.maxCrashes`.',
    )
    this.crashes = crashes
    this.windowMs = windowMs
  }
}
