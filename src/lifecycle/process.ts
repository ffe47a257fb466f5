// The process lifecycle: closers that run once, last-registered first, each under its own time limit; a delay
// that gives way to shutdown; and opt-in signal and crash handling with one hard deadline.

import { EXIT_FAILURE } from './errors.js'
import { createLog, describeError, type Log, type LoggerOption } from './logger.js'

/** What a closer receives. */
export interface CloseInfo {
  /** What `close(reason)` was called with: a signal name, the uncaught error, or your own value. */
  readonly reason: unknown
  /** Aborts when this closer's `timeout` runs out; stop waiting on things when it does. */
  readonly signal: AbortSignal
}

/** A cleanup step registered with `onClose`. */
export type Closer = (info: CloseInfo) => unknown

export interface OnCloseOptions {
  /**
   * How long this closer may take, in milliseconds. After that, close moves on to the next closer (the slow
   * one is not cancelled; its signal aborts).
   *
   * `Infinity` waits as long as it takes.
   *
   * @default the lifecycle's `timeout` (5_000)
   * @example lifecycle.onClose(() => pool.end(), { timeout: 2_000 })
   */
  readonly timeout?: number
  /**
   * Name used in log lines and in the close result.
   *
   * @default the function's name, else `closer #n`
   * @example lifecycle.onClose(() => pool.end(), { name: 'postgres pool' })
   */
  readonly name?: string
}

export interface LifecycleOptions {
  /**
   * Default per-closer time limit, in milliseconds. `Infinity` lets closers take as long as they need.
   *
   * @default 5_000
   * @example createLifecycle({ timeout: 2_000 })
   */
  readonly timeout?: number
  /**
   * Where closer failures, time-outs and (with `handleSignals`) signals are reported. `false` prints nothing.
   *
   * @default console (every level on stderr)
   * @example createLifecycle({ logger: { error: (msg) => log.error(msg), info: (msg) => log.info(msg) } })
   */
  readonly logger?: LoggerOption
}

/** A closer that threw or rejected. */
export interface CloserFailure {
  readonly name: string
  readonly error: unknown
}

/** What `close()` resolves to. It never rejects: failures are logged and listed here. */
export interface CloseResult {
  readonly reason: unknown
  /** Closers that threw or rejected. */
  readonly failed: readonly CloserFailure[]
  /** Names of the closers that ran out of time. */
  readonly timedOut: readonly string[]
  readonly durationMs: number
}

export interface HandleSignalsOptions {
  /**
   * Signals that start a graceful close. While closing, a repeated SIGINT (Ctrl-C twice) exits at once with
   * code 130; any other repeated signal is ignored.
   *
   * @default ['SIGTERM', 'SIGINT']
   * @example handleSignals({ signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] })
   */
  readonly signals?: readonly NodeJS.Signals[]
  /**
   * Hard deadline, in milliseconds from the start of a close: if the process is still alive then, it exits
   * with code 1. The timer is unref'd, so it never keeps a process alive that would otherwise end.
   *
   * @default 10_000
   * @example handleSignals({ timeout: 25_000 }) // below Kubernetes' 30 s grace period
   */
  readonly timeout?: number
  /**
   * Where signals, crashes and the deadline are reported. `false` prints nothing.
   *
   * @default the lifecycle's logger
   * @example handleSignals({ logger: false })
   */
  readonly logger?: LoggerOption
  /**
   * In a `node:cluster` worker: the primary's disconnect (`createClusterPrimary().stop()`, or `cluster.disconnect()`)
   * starts the same graceful close as SIGTERM, and once a close began the IPC channel to the primary no longer
   * keeps the worker alive, so it exits when its own work is done. `false` leaves the disconnect to you. No effect
   * outside a cluster worker.
   *
   * @default true
   * @example handleSignals({ disconnect: false })
   */
  readonly disconnect?: boolean
}

/**
 * What a cluster primary sends each worker right before it disconnects them: the worker starts draining on it,
 * before Node closes the worker's listeners itself. @internal
 */
export const DISCONNECT_MESSAGE = 'leakguard:disconnect'

export interface Lifecycle {
  /** `true` until `close()` is called. */
  isOpen(): boolean
  /**
   * Registers a cleanup step. Closers run one at a time, last registered first. Registering after close began
   * runs the closer right away. Returns a function that unregisters it.
   */
  onClose(closer: Closer, options?: OnCloseOptions): () => void
  /** Runs every closer once. Idempotent: later calls return the same promise. Never rejects. */
  close(reason?: unknown): Promise<CloseResult>
  /**
   * Waits `ms` milliseconds; resolves `true` when the time elapsed, `false` as soon as close begins (or at once
   * when already closing). The timer is cleared on close, so it never holds the process open.
   */
  delay(ms: number): Promise<boolean>
  /** Aborts when close begins; its reason is the close reason. */
  readonly signal: AbortSignal
  /**
   * Installs process handlers: signals start one graceful close, a second SIGINT exits with 130, an uncaught
   * exception or unhandled rejection is logged, sets `process.exitCode = 1` and closes. Once a close begins, an
   * unref'd timer exits with code 1 after `timeout`. In a `node:cluster` worker, the primary's disconnect starts the
   * same close (see the `disconnect` option). Returns a function that removes every handler (and that timer).
   * Nothing is installed until you call this.
   */
  handleSignals(options?: HandleSignalsOptions): () => void
}

interface Registration {
  readonly closer: Closer
  readonly name: string
  readonly timeout: number
}

/** Exit code for a forced exit on a repeated SIGINT: 128 + SIGINT (2), what shells report for Ctrl-C. */
const EXIT_SIGINT = 130

/**
 * Creates a process lifecycle. Creating one changes nothing global; only `handleSignals()` installs handlers.
 *
 * @example
 * const lifecycle = createLifecycle()
 * lifecycle.handleSignals()
 * await app.start()
 * lifecycle.onClose(() => app.stop(), { name: 'http server' })
 * while (lifecycle.isOpen()) { await work(); await lifecycle.delay(1_000) }
 */
export function createLifecycle(options: LifecycleOptions = {}): Lifecycle {
  const defaultTimeout = checkTimeout('timeout', options.timeout, 5_000, true)
  const log = createLog(options.logger)

  const registrations: Registration[] = []
  const controller = new AbortController()
  const delays = new Set<() => void>()
  const late = new Set<Promise<void>>()
  let closePromise: Promise<CloseResult> | undefined
  let closerCount = 0
  let reason: unknown
  let onCloseStarted: (() => void) | undefined

  async function runCloser(registration: Registration, failed: CloserFailure[], timedOut: string[]): Promise<void> {
    const { closer, name, timeout } = registration
    const closerController = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<'timeout'>((resolve) => {
      if (timeout !== Number.POSITIVE_INFINITY) timer = setTimeout(() => resolve('timeout'), timeout)
    })
    try {
      const running = Promise.resolve().then(() => closer({ reason, signal: closerController.signal }))
      // Keep a late rejection of an abandoned closer from surfacing as an unhandled rejection.
      running.catch(() => {})
      const outcome = await Promise.race([running.then(() => 'done' as const), expired])
      if (outcome === 'timeout') {
        timedOut.push(name)
        closerController.abort(new DOMException(`Closer \`${name}\` timed out.`, 'TimeoutError'))
        log.error(`Closer \`${name}\` did not finish within ${timeout} ms; moving on to the next one.`)
      }
    } catch (error) {
      failed.push({ name, error })
      log.error(`Closer \`${name}\` failed: ${describeError(error)}`)
    } finally {
      clearTimeout(timer)
    }
  }

  function close(closeReason?: unknown): Promise<CloseResult> {
    if (closePromise) return closePromise
    reason = closeReason
    controller.abort(closeReason)
    for (const resolveEarly of [...delays]) resolveEarly()
    onCloseStarted?.()
    const began = Date.now()
    closePromise = (async () => {
      const failed: CloserFailure[] = []
      const timedOut: string[] = []
      // Last registered first: what started last depends on what started before it.
      while (registrations.length > 0) {
        await runCloser(registrations.pop()!, failed, timedOut)
      }
      while (late.size > 0) await Promise.all(late)
      return { reason, failed, timedOut, durationMs: Date.now() - began }
    })()
    return closePromise
  }

  function onClose(closer: Closer, closeOptions: OnCloseOptions = {}): () => void {
    if (typeof closer !== 'function') throw new TypeError('`closer` must be a function.')
    closerCount += 1
    const registration: Registration = {
      closer,
      name: closeOptions.name ?? (closer.name || `closer #${closerCount}`),
      timeout: checkTimeout('timeout', closeOptions.timeout, defaultTimeout, true),
    }
    if (closePromise) {
      // Something opened during shutdown still has to be closed; the pending close() waits for it.
      const run: Promise<void> = runCloser(registration, [], []).finally(() => late.delete(run))
      late.add(run)
      return () => {}
    }
    registrations.push(registration)
    return () => {
      const index = registrations.indexOf(registration)
      if (index !== -1) registrations.splice(index, 1)
    }
  }

  function delay(ms: number): Promise<boolean> {
    checkTimeout('ms', ms, 0)
    if (closePromise) return Promise.resolve(false)
    return new Promise<boolean>((resolve) => {
      const finish = (elapsed: boolean) => {
        clearTimeout(timer)
        delays.delete(early)
        resolve(elapsed)
      }
      const early = () => finish(false)
      const timer = setTimeout(() => finish(true), ms)
      delays.add(early)
    })
  }

  let signalsInstalled = false

  function handleSignals(signalOptions: HandleSignalsOptions = {}): () => void {
    if (signalsInstalled) throw new Error('`handleSignals()` is already installed on this lifecycle.')
    const signals = signalOptions.signals ?? ['SIGTERM', 'SIGINT']
    if (!Array.isArray(signals) || signals.some((s) => typeof s !== 'string')) {
      throw new TypeError('`signals` must be an array of signal names such as "SIGTERM".')
    }
    const deadline = checkTimeout('timeout', signalOptions.timeout, 10_000)
    const signalLog: Log = signalOptions.logger === undefined ? log : createLog(signalOptions.logger)
    signalsInstalled = true
    const forceHint = signals.includes('SIGINT') ? ' (press Ctrl-C again to exit at once)' : ''

    const clusterWorker = signalOptions.disconnect !== false && isClusterWorker()
    let deadlineTimer: NodeJS.Timeout | undefined
    const armDeadline = () => {
      if (deadlineTimer) return
      // A cluster worker's channel is held open by Node's cluster module; closing, it must not keep us alive.
      if (clusterWorker) process.channel?.unref()
      // The one place besides the repeated SIGINT that calls process.exit: the process would otherwise hang.
      deadlineTimer = setTimeout(() => {
        signalLog.error(`The process did not exit within ${deadline} ms of the close starting; exiting with code ${EXIT_FAILURE}.`)
        process.exit(EXIT_FAILURE)
      }, deadline)
      deadlineTimer.unref()
    }

    const startClose = (why: unknown) => {
      armDeadline()
      void close(why).then((result) => {
        if (result.failed.length > 0 || result.timedOut.length > 0) {
          if (!process.exitCode) process.exitCode = EXIT_FAILURE
        }
        signalLog.info(`Closed in ${result.durationMs} ms.`)
      })
    }

    const onSignal = (signal: NodeJS.Signals) => {
      if (!closePromise) {
        signalLog.info(`Received ${signal}; closing gracefully${forceHint}.`)
        startClose(signal)
        return
      }
      if (signal === 'SIGINT') {
        signalLog.error(`Received SIGINT while closing; exiting now with code ${EXIT_SIGINT}.`)
        process.exit(EXIT_SIGINT)
        return
      }
      signalLog.info(`Received ${signal} while already closing; ignoring it.`)
    }

    const onCrash = (kind: string) => (error: unknown) => {
      signalLog.error(`${kind}: ${describeError(error)}`)
      process.exitCode = EXIT_FAILURE
      if (!closePromise) startClose(error)
    }
    const onUncaught = onCrash('Uncaught exception')
    const onUnhandled = onCrash('Unhandled rejection')
    const onDisconnectRequest = (why: string) => {
      if (closePromise) return
      signalLog.info(`${why}; closing gracefully.`)
      startClose('disconnect')
    }
    const onPrimaryMessage = (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type === DISCONNECT_MESSAGE) onDisconnectRequest('The primary asked this worker to disconnect')
    }
    const onDisconnect = () => onDisconnectRequest('Disconnected from the primary')

    for (const signal of signals) process.on(signal, onSignal)
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUnhandled)
    if (clusterWorker) {
      process.on('message', onPrimaryMessage)
      process.on('disconnect', onDisconnect)
      // The primary may have stopped while this worker was still starting, before anyone listened.
      if (!process.connected) onDisconnect()
    }
    // A close started by code (not by a signal) is bounded by the same deadline.
    onCloseStarted = armDeadline
    if (closePromise) armDeadline()

    return () => {
      for (const signal of signals) process.off(signal, onSignal)
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUnhandled)
      process.off('message', onPrimaryMessage)
      process.off('disconnect', onDisconnect)
      clearTimeout(deadlineTimer)
      onCloseStarted = undefined
      signalsInstalled = false
    }
  }

  return {
    isOpen: () => closePromise === undefined,
    onClose,
    close,
    delay,
    handleSignals,
    signal: controller.signal,
  }
}

/** Longest delay `setTimeout` honours; larger values fire after 1 ms with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1

function checkTimeout(name: string, value: number | undefined, fallback: number, allowInfinity = false): number {
  if (value === undefined) return fallback
  if (allowInfinity && value === Number.POSITIVE_INFINITY) return value
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_TIMER_MS) {
    throw new RangeError(
      `\`${name}\` must be a number of milliseconds from 0 to ${MAX_TIMER_MS}` +
        `${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}.`,
    )
  }
  return value
}

/**
 * `cluster.isWorker`, without loading node:cluster where it cannot be one: Node loads the module in each cluster worker
 * before any code of the worker's runs. (A process that only handles signals, such as a job worker, need not pay for
 * node:cluster and the net and child_process it loads.) Not `process.channel`: a worker stays one after the primary
 * disconnected it, which is when a late listen() must know it.
 */
export function isClusterWorker(): boolean {
  const loaded = (process as { moduleLoadList?: unknown }).moduleLoadList
  if (Array.isArray(loaded) && !loaded.includes('NativeModule cluster')) return false
  return (process.getBuiltinModule('node:cluster') as unknown as { readonly isWorker: boolean }).isWorker
}
