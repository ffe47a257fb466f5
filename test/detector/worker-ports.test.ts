// A worker thread's own MessagePorts count in process.getActiveResourcesInfo() while Node has them ref'd, and Node refs
// and unrefs them as the worker is used (a 'message' listener on it refs its public port). The 'other' check counts
// MessagePorts by type, so a worker leaked in one test made a MessagePort show up in a later one, now and then, and
// hid the next real one (the leak zoo under the threads pool). A worker's ports belong to the worker, which is
// tracked as itself. Run in a fresh Node process: leakguard is armed in this one already.
import { expect, test } from 'vitest'
import { distUrl as url, runFreshNode } from '../helpers/fresh-node.js'

test("a worker's own port is not a later test's MessagePort; a MessageChannel's port still is", () => {
  const script = `
    const core = await import(${url('harness', 'core.js')})
    const { resolveOptions } = await import(${url('detector', 'options.js')})
    await import(${url('detector', 'detect.js')})
    const { once } = await import('node:events')
    core.arm('runner')
    const { Worker } = process.getBuiltinModule('node:worker_threads')
    const options = resolveOptions({ settleMs: 20 })
    const kinds = (leaks) => leaks.map((l) => l.kind === 'other' ? 'other:' + l.details.type : l.kind)

    const a = core.openTest('leaks a worker')
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true })
    await once(worker, 'online')
    const first = kinds(await core.collect(a, options))
    await core.letGo(a)

    const b = core.openTest('uses the leaked worker')
    // Refs the worker's public port: one more active MessagePort.
    worker.on('message', () => {})
    const second = kinds(await core.collect(b, options))

    const c = core.openTest('leaks a message port')
    const { port1 } = new MessageChannel()
    port1.on('message', () => {})
    const third = kinds(await core.collect(c, options))

    port1.close()
    await worker.terminate()
    console.log(JSON.stringify({ first, second, third }))
  `
  expect(runFreshNode(script)).toEqual({ first: ['worker'], second: [], third: ['other:MessagePort'] })
})
