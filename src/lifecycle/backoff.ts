// Retrying a connection at startup: exponential backoff with full jitter, then a typed failure (exit code 70).

import { DependencyUnavailableError } from './errors.js'

/** What `onRetry` is told before each wait. */
export interface RetryInfo {
  /** The attempt that just failed, from 1. */
  readonly attempt: number
  /** Its error. */
  readonly error: unknown
  /** How long the next wait lasts, in milliseconds. */
  readonly delayMs: number
}

export interface BackoffOptions {
  /**
   * How many times `connect` is called in total (the first try included).
   *
   * @default 5
   * @example connectWithBackoff(connect, { attempts: 10 })
   */
  readonly attempts?: number
  /**
   * Base of the exponential: the wait before attempt n+1 is a random value in `[0, min(maxMs, baseMs * 2^(n-1))]`
   * ("full jitter", so many restarting instances do not retry in lockstep).
   *
   * @default 100
   * @example connectWithBackoff(connect, { baseMs: 250 })
   */
  readonly baseMs?: number
  /**
   * Upper bound of a single wait, in milliseconds.
   *
   * @default 5_000
   * @example connectWithBackoff(connect, { maxMs: 30_000 })
   */
  readonly maxMs?: number
  /**
   * Cancels the retries: the pending wait ends and the promise rejects with `signal.reason`. Also passed to
   * `connect`, so it can cancel the attempt in progress.
   *
   * @default undefined
   * @example connectWithBackoff(connect, { signal: lifecycle.signal })
   */
  readonly signal?: AbortSignal
  /**
   * Called after each failed attempt that will be retried, before the wait.
   *
   * @default undefined
   * @example onRetry: ({ attempt, error, delayMs }) => log.warn(`db attempt ${attempt} failed, retrying in ${delayMs} ms`)
   */
  readonly onRetry?: (info: RetryInfo) => void
  /**
   * Names the dependency in the final error message.
   *
   * @default 'the dependency'
   * @example connectWithBackoff(connect, { name: 'postgres' })
   */
  readonly name?: string
}

/**
 * Calls `connect` until it resolves, waiting longer (with jitter) between failures. After the last attempt it
 * rejects with a {@link DependencyUnavailableError} (exit code 70) whose `cause` is the last error.
 *
 * @example
 * const db = await connectWithBackoff(() => openDb(process.env.DATABASE_URL), { name: 'postgres', signal: lifecycle.signal })
 */
export async function connectWithBackoff<T>(
  connect: (attempt: number, signal: AbortSignal | undefined) => T | Promise<T>,
  options: BackoffOptions = {},
): Promise<T> {
  if (typeof connect !== 'function') throw new TypeError('`connect` must be a function returning the connection.')
  const attempts = options.attempts ?? 5
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`\`attempts\` must be an integer >= 1, got ${String(options.attempts)}.`)
  }
  const baseMs = options.baseMs ?? 100
  const maxMs = options.maxMs ?? 5_000
  if (!(baseMs >= 0) || !Number.isFinite(baseMs)) throw new RangeError(`\`baseMs\` must be a number >= 0, got ${String(baseMs)}.`)
  if (!(maxMs >= 0) || maxMs > 2 ** 31 - 1) {
    throw new RangeError(`\`maxMs\` must be a number of milliseconds from 0 to ${2 ** 31 - 1}, got ${String(maxMs)}.`)
  }
  const { signal, onRetry, name = 'the dependency' } = options

  let lastError: unknown
  for (let attempt = 1; attempt <= attempts; attempt++) {
    signal?.throwIfAborted()
    try {
      return await connect(attempt, signal)
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      lastError = error
    }
    if (attempt === attempts) break
    const delayMs = Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)))
    onRetry?.({ attempt, error: lastError, delayMs })
    await wait(delayMs, signal)
  }
  const last = lastError instanceof Error ? lastError.message : String(lastError)
  throw new DependencyUnavailableError(
    `Could not reach ${name} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last}. ` +
      'Check that it is running and reachable, or raise `attempts` / `maxMs`.',
    attempts,
    lastError,
  )
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
