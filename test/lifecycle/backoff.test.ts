// connectWithBackoff: retries with capped, jittered waits, a typed final failure, cancellation.
import { expect, test, vi } from 'vitest'
import { connectWithBackoff, DependencyUnavailableError, EXIT_DEPENDENCY_UNAVAILABLE } from '../../src/lifecycle.js'

test('retries until connect succeeds; each wait is within [0, min(maxMs, baseMs * 2^(n-1))]', async () => {
  const delays: number[] = []
  const connect = vi.fn(async (attempt: number) => {
    if (attempt < 4) throw new Error(`refused ${attempt}`)
    return 'connection'
  })
  const result = await connectWithBackoff(connect, {
    baseMs: 4,
    maxMs: 10,
    onRetry: ({ attempt, error, delayMs }) => {
      expect((error as Error).message).toBe(`refused ${attempt}`)
      delays.push(delayMs)
    },
  })
  expect(result).toBe('connection')
  expect(connect).toHaveBeenCalledTimes(4)
  expect(delays).toHaveLength(3)
  const caps = [4, 8, 10]
  delays.forEach((delay, i) => {
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThanOrEqual(caps[i]!)
  })
})

test('after the last attempt: DependencyUnavailableError, exit code 70, cause = last error', async () => {
  let attempt = 0
  const error = await connectWithBackoff(
    () => {
      attempt++
      throw new Error(`ECONNREFUSED #${attempt}`)
    },
    { attempts: 3, baseMs: 1, name: 'postgres' },
  ).then(
    () => expect.unreachable('should have failed'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(DependencyUnavailableError)
  expect(error).toMatchObject({ exitCode: EXIT_DEPENDENCY_UNAVAILABLE, attempts: 3 })
  expect(((error as Error).cause as Error).message).toBe('ECONNREFUSED #3')
  expect((error as Error).message).toMatch(/^Could not reach postgres after 3 attempts: ECONNREFUSED #3\./)
})

test('an abort during a wait rejects with the reason and stops calling connect', async () => {
  const controller = new AbortController()
  const connect = vi.fn(() => Promise.reject(new Error('down')))
  const result = connectWithBackoff(connect, {
    baseMs: 60_000,
    maxMs: 60_000,
    signal: controller.signal,
    onRetry: () => queueMicrotask(() => controller.abort(new Error('shutting down'))),
  })
  await expect(result).rejects.toThrow('shutting down')
  expect(connect).toHaveBeenCalledTimes(1)
})

test('an already-aborted signal rejects before the first attempt', async () => {
  const connect = vi.fn(() => 1)
  await expect(connectWithBackoff(connect, { signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no')
  expect(connect).not.toHaveBeenCalled()
})

test('bad options are RangeErrors naming the option', async () => {
  await expect(connectWithBackoff(() => 1, { attempts: 0 })).rejects.toThrow('`attempts`')
  await expect(connectWithBackoff(() => 1, { baseMs: -1 })).rejects.toThrow('`baseMs`')
  await expect(connectWithBackoff(() => 1, { maxMs: Number.NaN })).rejects.toThrow(RangeError)
})
