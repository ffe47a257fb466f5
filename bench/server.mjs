// Benchmark: what useServer() costs, measured against a baseline in the same run.
//   1. a request through handle.request vs supertest(app) (which starts a server per request)
//   2. start + stop of a fresh server, as scope: 'test' does for every test
//   3. stop() with 50 idle keep-alive clients connected
//
//   node bench/server.mjs [--requests 2000] [--cycles 500] [--stops 30]
import http from 'node:http'
import { parseArgs } from 'node:util'
import supertest from 'supertest'
import { createServerHandle } from '../dist/harness/server-handle.js'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    cycles: { type: 'string', default: '500' },
    stops: { type: 'string', default: '30' },
  },
})
const REQUESTS = Number(values.requests)
const CYCLES = Number(values.cycles)
const STOPS = Number(values.stops)

const app = (_req, res) => res.end('ok')
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const now = () => performance.now()

async function perRequest(fn, n) {
  for (let i = 0; i < Math.min(200, n); i++) await fn() // warm-up
  const times = []
  for (let i = 0; i < n; i++) {
    const t = now()
    await fn()
    times.push(now() - t)
  }
  return median(times)
}

// 1. Requests, interleaved in blocks so drift hits both sides alike.
const handle = createServerHandle(() => app)
await handle.start()
const fixture = []
const plain = []
for (let block = 0; block < 4; block++) {
  fixture.push(await perRequest(() => handle.request.get('/').expect(200), REQUESTS / 4))
  plain.push(await perRequest(() => supertest(app).get('/').expect(200), REQUESTS / 4))
}
await handle.stop()
const fixtureMs = median(fixture)
const plainMs = median(plain)
console.log(`request via server.request   median ${fixtureMs.toFixed(3)} ms`)
console.log(`request via supertest(app)   median ${plainMs.toFixed(3)} ms`)
console.log(`speed-up ${(plainMs / fixtureMs).toFixed(2)}x (target ≥ 2x)`)

// 2. Start + stop per test, against bare listen + close.
const cycle = []
const bare = []
for (let i = 0; i < CYCLES; i++) {
  let t = now()
  const h = createServerHandle(() => app)
  await h.start()
  await h.stop()
  cycle.push(now() - t)
  t = now()
  const s = http.createServer(app)
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  await new Promise((resolve) => s.close(resolve))
  bare.push(now() - t)
}
console.log(`\nstart + stop (scope: 'test')  median ${median(cycle).toFixed(3)} ms (target < 1 ms)`)
console.log(`bare listen + close          median ${median(bare).toFixed(3)} ms`)

// 3. stop() with 50 idle keep-alive clients.
const stops = []
for (let i = 0; i < STOPS; i++) {
  const h = createServerHandle(() => app)
  await h.start()
  const agents = Array.from({ length: 50 }, () => new http.Agent({ keepAlive: true, maxSockets: 1 }))
  await Promise.all(
    agents.map(
      (agent) =>
        new Promise((resolve, reject) => {
          http.get(`${h.url}/`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject)
        }),
    ),
  )
  const t = now()
  await h.stop()
  stops.push(now() - t)
  for (const agent of agents) agent.destroy()
}
console.log(`\nstop() with 50 idle keep-alive clients  median ${median(stops).toFixed(2)} ms (target < 50 ms)`)
