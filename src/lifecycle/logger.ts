// Injectable output for the lifecycle module: a `logger` option, console (stderr only) by default, `false` for silence.

/**
 * Where lifecycle messages go. Only `error` is required; `warn` and `info` fall back to nothing.
 * Every message arrives as one string, already prefixed with `[leakguard]`.
 *
 * @example
 * const logger = { error: (msg) => pino.error(msg), info: (msg) => pino.info(msg) }
 */
export interface Logger {
  error(message: string): void
  warn?(message: string): void
  info?(message: string): void
}

/**
 * A `logger` option: a {@link Logger}, or `false` to print nothing. `undefined` means the console, every level
 * through `console.error`: lifecycle messages go to stderr and never mix into a program's stdout (a JSON
 * readiness line, a CLI's output).
 */
export type LoggerOption = Logger | false | undefined

/** @internal The shape the rest of the module writes to: every level present, prefix added. */
export interface Log {
  error(message: string): void
  warn(message: string): void
  info(message: string): void
}

const PREFIX = '[leakguard]'

// `console.info` writes to stdout; ours must not. Looked up at call time, so a later spy on console.error sees it.
const STDERR_CONSOLE: Logger = {
  error: (message) => console.error(message),
  warn: (message) => console.error(message),
  info: (message) => console.error(message),
}

/** @internal */
export function createLog(option: LoggerOption): Log {
  if (option === false) return { error() {}, warn() {}, info() {} }
  if (option !== undefined && (typeof option !== 'object' || option === null || typeof option.error !== 'function')) {
    throw new TypeError('`logger` must be an object with an `error(message)` method, or `false`.')
  }
  const target: Logger = option ?? STDERR_CONSOLE
  // Resolved at call time so a logger whose methods are swapped later (test spies) still receives messages.
  return {
    error: (message) => target.error(`${PREFIX} ${message}`),
    warn: (message) => target.warn?.(`${PREFIX} ${message}`),
    info: (message) => target.info?.(`${PREFIX} ${message}`),
  }
}

/** @internal Turns anything thrown into one readable string, stack included when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  try {
    return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}
