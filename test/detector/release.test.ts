// Records let go of what is gone for good, so it can be garbage-collected while the test still runs: a timer that
// fired (its callback closes over the test's objects) and a socket that closed (it still points to the last request
// and response it carried). A test checking with a FinalizationRegistry that a request's objects are freed failed
// with leakguard on (honojs/node-server's "Memory leak test" under Jest). Run in a fresh Node process with --expose-gc:
// leakguard is armed in this one already.
import { expect, test } from 'vitest'
import { distUrl, runFreshNode } from '../helpers/fresh-node.js'

function collectedInBracket(body: string): { collected: number; recorded: number } {
  const script = `
    const core = await import(${distUrl('harness', 'core.js')})
    core.arm('runner')
    const http = await import('node:http')
    const b = core.openTest('gc')
    let collected = 0
    const registry = new FinalizationRegistry(() => collected++)
    const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
    ${body}
    await pause(20)
    globalThis.gc()
    await pause(20)
    console.log(JSON.stringify({ collected, recorded: b.records.length }))
  `
  return runFreshNode(script, ['--expose-gc'])
}

test('what a fired timer closed over is collected inside the test', () => {
  const result = collectedInBracket(`
    ;(() => {
      const payload = { big: new Array(1000).fill(1) }
      registry.register(payload, 'payload')
      setTimeout(() => void payload.big.length, 0)
    })()
  `)
  expect(result.recorded).toBeGreaterThan(0)
  expect(result.collected).toBe(1)
})

test('what a cleared timer or interval closed over is collected inside the test', () => {
  const result = collectedInBracket(`
    ;(() => {
      const timeout = { big: new Array(1000).fill(1) }
      const interval = { big: new Array(1000).fill(2) }
      registry.register(timeout, 'timeout')
      registry.register(interval, 'interval')
      // A request's timeout, cleared when the answer comes: through the global and through node:timers. (Node's
      // clear drops the callback; the record keeps only the timer.)
      clearTimeout(setTimeout(() => void timeout.big.length, 60_000))
      const timers = process.getBuiltinModule('node:timers')
      timers.clearInterval(timers.setInterval(() => void interval.big.length, 60_000))
    })()
  `)
  // Both timers, and the pauses' own.
  expect(result.recorded).toBe(4)
  expect(result.collected).toBe(2)
})

test("a request's objects are collected once its connection closed, the server still open", () => {
  const result = collectedInBracket(`
    let closed
    const done = new Promise((resolve) => (closed = resolve))
    const server = http.createServer((req, res) => {
      const perRequest = { req, controller: new AbortController() }
      registry.register(perRequest, 'perRequest')
      res.on('close', () => setTimeout(() => { perRequest.controller.abort(); closed() }, 0))
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const abort = new AbortController()
    http.get({ host: '127.0.0.1', port: server.address().port, agent: false, signal: abort.signal }).on('error', () => {})
    await new Promise((resolve) => server.once('request', () => setImmediate(resolve)))
    abort.abort()
    await done
    await pause(20)
    globalThis.gc()
    await pause(20)
    await new Promise((resolve) => server.close(resolve))
  `)
  expect(result.recorded).toBeGreaterThan(0)
  expect(result.collected).toBe(1)
})
