// A server listened and closed again in every test (one server object for the whole file) gets one 'connection'
// listener from leakguard, not one per listen(): twelve piled up and Node warned of a listener leak, seen on
// honojs/node-server's Jest suite. Connections still answer to the test that last listened. Run in a fresh Node
// process: leakguard is armed in this one already.
import { expect, test } from 'vitest'
import { distUrl as url, runFreshNode } from '../helpers/fresh-node.js'

test('one server listened in twelve tests: one listener, no warning, the last test owns its connections', () => {
  const script = `
    const core = await import(${url('harness', 'core.js')})
    const { resolveOptions } = await import(${url('detector', 'options.js')})
    core.arm('runner')
    const options = resolveOptions({})
    const net = await import('node:net')
    const warnings = []
    process.on('warning', (w) => warnings.push(w.name))
    const server = net.createServer()
    const listen = () => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const close = () => new Promise((resolve) => server.close(resolve))
    for (let i = 0; i < 12; i++) {
      const b = core.openTest('test ' + i)
      await listen()
      await close()
      const leaks = await core.collect(b, options)
      if (leaks.length > 0) throw new Error('test ' + i + ' leaked: ' + leaks.map((l) => l.kind))
    }
    const b = core.openTest('last')
    await listen()
    const accepted = new Promise((resolve) => server.once('connection', resolve))
    const client = net.connect(server.address().port, '127.0.0.1')
    await accepted
    const owned = b.records.filter((r) => r.kind === 'socket' && r.info.accepted === true).length
    client.destroy()
    server.closeAllConnections?.()
    await close()
    await new Promise((resolve) => setImmediate(resolve))
    console.log(JSON.stringify({ listeners: server.listenerCount('connection'), owned, warnings }))
  `
  expect(runFreshNode(script)).toEqual({ listeners: 1, owned: 1, warnings: [] })
})
