// createLifecycle in-process: closer order, per-closer timeouts, failures, idempotent close, delay.
import { expect, test } from 'vitest'
import { createLifecycle } from '../../src/lifecycle.js'
import { deferred } from './helpers.js'

function recordingLogger() {
  const lines: string[] = []
  return { lines, logger: { error: (msg: string) => lines.push(`error ${msg}`), info: (msg: string) => lines.push(`info ${msg}`) } }
}

test('closers run one at a time, last registered first', async () => {
  const lifecycle = createLifecycle({ logger: false })
  const order: string[] = []
  lifecycle.onClose(async () => {
    order.push('database start')
    await Promise.resolve()
    order.push('database end')
  })
  lifecycle.onClose(() => void order.push('server'))
  const unregister = lifecycle.onClose(() => void order.push('never'))
  unregister()
  expect(lifecycle.isOpen()).toBe(true)
  const result = await lifecycle.close('test')
  expect(order).toEqual(['server', 'database start', 'database end'])
  expect(lifecycle.isOpen()).toBe(false)
  expect(result).toMatchObject({ reason: 'test', failed: [], timedOut: [] })
})

test('close() is idempotent and returns the same promise', async () => {
  const lifecycle = createLifecycle({ logger: false })
  let runs = 0
  lifecycle.onClose(() => void runs++)
  const first = lifecycle.close('first')
  expect(lifecycle.close('second')).toBe(first)
  expect((await first).reason).toBe('first')
  expect(runs).toBe(1)
})

test('a closer that outlives its timeout is abandoned, its signal aborts, and the others still run', async () => {
  const { lines, logger } = recordingLogger()
  const lifecycle = createLifecycle({ logger })
  const order: string[] = []
  let closerSignal: AbortSignal | undefined
  lifecycle.onClose(() => void order.push('first registered'))
  lifecycle.onClose(
    ({ signal }) => {
      closerSignal = signal
      order.push('stuck')
      return new Promise(() => {})
    },
    { timeout: 30, name: 'stuck queue' },
  )
  lifecycle.onClose(() => void order.push('last registered'))
  const result = await lifecycle.close()
  expect(order).toEqual(['last registered', 'stuck', 'first registered'])
  expect(result.timedOut).toEqual(['stuck queue'])
  expect(closerSignal?.aborted).toBe(true)
  expect(lines).toEqual(['error [leakguard] Closer `stuck queue` did not finish within 30 ms; moving on to the next one.'])
})

test('a failing closer is logged and reported without stopping the others', async () => {
  const { lines, logger } = recordingLogger()
  const lifecycle = createLifecycle({ logger })
  const ran: string[] = []
  lifecycle.onClose(() => void ran.push('a'))
  lifecycle.onClose(
    () => {
      throw new Error('sync failure')
    },
    { name: 'sync' },
  )
  lifecycle.onClose(async function flushMetrics() {
    throw new Error('async failure')
  })
  lifecycle.onClose(() => void ran.push('d'))
  const result = await lifecycle.close()
  expect(ran).toEqual(['d', 'a'])
  expect(result.failed.map((f) => f.name)).toEqual(['flushMetrics', 'sync'])
  expect(result.failed.map((f) => (f.error as Error).message)).toEqual(['async failure', 'sync failure'])
  expect(lines[0]).toMatch(/^error \[leakguard\] Closer `flushMetrics` failed: Error: async failure/)
  expect(lines[1]).toMatch(/^error \[leakguard\] Closer `sync` failed: Error: sync failure/)
})

test('closers receive the reason', async () => {
  const lifecycle = createLifecycle({ logger: false })
  const reasons: unknown[] = []
  lifecycle.onClose(({ reason }) => void reasons.push(reason))
  await lifecycle.close('SIGTERM')
  expect(reasons).toEqual(['SIGTERM'])
})

test('a closer registered while closing still runs, and close() waits for it', async () => {
  const lifecycle = createLifecycle({ logger: false })
  const gate = deferred()
  const ran: string[] = []
  lifecycle.onClose(async () => {
    await gate.promise
    ran.push('slow')
  })
  const closing = lifecycle.close()
  lifecycle.onClose(() => void ran.push('late'))
  gate.resolve()
  await closing
  expect(ran.sort()).toEqual(['late', 'slow'])
})

test('delay() resolves true after the time, false as soon as close begins, and leaves no timer behind', async () => {
  const lifecycle = createLifecycle({ logger: false })
  await expect(lifecycle.delay(5)).resolves.toBe(true)
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const long = lifecycle.delay(60_000)
  expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timersBefore + 1)
  const began = performance.now()
  await lifecycle.close()
  await expect(long).resolves.toBe(false)
  expect(performance.now() - began).toBeLessThan(1_000)
  expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timersBefore)
  await expect(lifecycle.delay(60_000)).resolves.toBe(false)
})

test('signal aborts with the close reason', async () => {
  const lifecycle = createLifecycle({ logger: false })
  expect(lifecycle.signal.aborted).toBe(false)
  await lifecycle.close('bye')
  expect(lifecycle.signal.aborted).toBe(true)
  expect(lifecycle.signal.reason).toBe('bye')
})

test('creating a lifecycle installs nothing; handleSignals installs and its return value removes', () => {
  const events = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'] as const
  const counts = () => events.map((e) => process.listenerCount(e))
  const before = counts()
  const lifecycle = createLifecycle({ logger: false })
  expect(counts()).toEqual(before)
  const remove = lifecycle.handleSignals()
  expect(counts()).toEqual(before.map((n) => n + 1))
  expect(() => lifecycle.handleSignals()).toThrow(/already installed/)
  remove()
  expect(counts()).toEqual(before)
})

test('bad arguments are rejected with the option name', () => {
  expect(() => createLifecycle({ timeout: -1 })).toThrow('`timeout`')
  const lifecycle = createLifecycle({ logger: false })
  expect(() => lifecycle.onClose('nope' as never)).toThrow(TypeError)
  expect(() => lifecycle.delay(2 ** 40)).toThrow('`ms`')
  expect(() => lifecycle.handleSignals({ timeout: Number.NaN })).toThrow('`timeout`')
})
