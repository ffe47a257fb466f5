// The lifecycle scenarios. Each starts its own server process on its own ports, drives it through one situation with
// handshakes (IPC, log lines, responses; never a sleep), and returns a one-line detail or throws a ScenarioFailure.

import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEADLINE_MS,
  deferred,
  expectExitCode,
  inFlight,
  NO_WORKER_CHILD,
  QUICK_EXIT_MS,
  REFERENCE_ONLY,
  SLOW_MS,
  expectStatus,
  fail,
  formatMs,
  ignoresHint,
  raceTimeout,
  type Scenario,
  type ScenarioContext,
  type ServerProcess,
  type Target,
} from './context.js'
import { connectOutcome, openEventStream, send, type Outcome } from './http.js'
import { isAlive } from './procs.js'
import { CLUSTER_SCENARIOS } from './cluster.js'

export type { Scenario } from './context.js'

const HUNG_DRAIN_MS = DEADLINE_MS
const CHILD_KILL_MS = DEADLINE_MS
const PRE_DRAIN_MS = 1_500
const NEEDS_SLOW = (target: Extract<Target, { kind: 'command' }>) =>
  target.slowPath === undefined ? 'needs --slow-path to hold a request in flight' : undefined

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'ready',
    summary: 'time to ready; /health 200 (the reference server: /ready, /users, admin and metrics too)',
    async run(t) {
      const s = await t.spawn()
      const ready = await s.ready()
      expectStatus(await send(s.url(t.health), { timeoutMs: 3_000, signal: t.signal }), 200, `GET ${t.health}`)
      const parts = [`ready in ${formatMs(ready.ms)}`, `${t.health} 200`]
      if (t.reference) {
        expectStatus(await send(s.url('/ready'), { timeoutMs: 3_000, signal: t.signal }), 200, 'GET /ready')
        expectStatus(await postUsers(t, s, JSON.stringify({ name: 'Ada' })), 201, 'POST /users')
        const list = await send(s.url('/users'), { timeoutMs: 3_000, signal: t.signal })
        expectStatus(list, 200, 'GET /users')
        if (!list.body.includes('"Ada"')) fail(`GET /users did not list the user just created: ${list.body.slice(0, 120)}`)
        expectStatus(await send(s.url('/health', 'admin'), { timeoutMs: 3_000, signal: t.signal }), 200, 'admin GET /health')
        const metrics = await send(s.url('/metrics', 'metrics'), { timeoutMs: 3_000, signal: t.signal })
        expectStatus(metrics, 200, 'GET /metrics')
        if (!/^reference_users 1$/m.test(metrics.body)) fail('GET /metrics did not count the user just created')
        parts.push('/ready 200', 'POST + GET /users', 'admin and metrics up')
      }
      const exit = await t.stop(s)
      parts.push(`exit 0 ${formatMs(exit.sinceSignal)} after SIGTERM`)
      return parts.join('; ')
    },
  },
  {
    name: 'sigterm-idle',
    summary: 'SIGTERM with nothing going on: exit 0 quickly',
    async run(t) {
      const s = await t.spawn(NO_WORKER_CHILD)
      await s.ready()
      const exit = await t.stop(s, { within: QUICK_EXIT_MS })
      return `exit 0 in ${formatMs(exit.sinceSignal)}`
    },
  },
  {
    name: 'sigterm-keep-alive',
    summary: 'SIGTERM with idle keep-alive clients: exit 0 without waiting for keepAliveTimeout',
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, KEEP_ALIVE_TIMEOUT_MS: '60000' })
      await s.ready()
      const agent = t.agent()
      const sockets = new Set<net.Socket>()
      const outcomes = await Promise.all(
        [1, 2, 3].map(() => send(s.url(t.health), { agent, timeoutMs: 3_000, signal: t.signal, onSocket: (socket) => sockets.add(socket) })),
      )
      for (const outcome of outcomes) expectStatus(outcome, 200, `GET ${t.health}`)
      const exit = await t.stop(s, { within: QUICK_EXIT_MS })
      const keepAlive = t.reference ? ' (keepAliveTimeout 60 s)' : ''
      return `exit 0 in ${formatMs(exit.sinceSignal)} with ${sockets.size} idle keep-alive connection(s) open${keepAlive}`
    },
  },
  {
    name: 'sigterm-in-flight',
    waits: SLOW_MS,
    summary: 'SIGTERM with a request in flight: it completes with Connection: close, new connections refused, exit 0',
    skip: NEEDS_SLOW,
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, DRAIN_TIMEOUT_MS: '5000' })
      await s.ready()
      const { slow, signalledAt: sigterm } = await inFlight(t, s, SLOW_MS)
      let refused: string
      if (t.reference) {
        await s.stderr.waitFor(/draining: /, 3_000, 'that it began draining', t.signal)
        const outcome = await connectOutcome(s.readyInfo!.ports.api)
        if (outcome !== 'ECONNREFUSED') fail(`a new connection after the drain began was ${outcome === 'connected' ? 'accepted' : outcome}, expected refused`)
        refused = 'new connection refused'
      } else {
        refused = (await refusedWhile(s, slow)) ? 'new connections refused' : ''
      }
      const response = await slow
      // The in-flight request first: a server that cuts it also stops accepting at once, and a
      // connection that raced the close into the backlog must not hide the cut request.
      expectStatus(response, 200, 'the in-flight request')
      if (!refused) fail('new connections were still accepted while the in-flight request was being answered')
      if (response.headers.connection !== 'close') {
        fail(`the in-flight response came without Connection: close (Connection: ${response.headers.connection ?? 'absent'})`)
      }
      if (t.reference && !/"users":\d+/.test(response.body)) fail(`the in-flight request could not use the database: ${response.body}`)
      const exit = await s.exit(SLOW_MS + QUICK_EXIT_MS, 'after SIGTERM', ignoresHint('SIGTERM'))
      expectExitCode(s, exit, 0, 'after SIGTERM')
      return (
        `in-flight request answered 200 with Connection: close ${formatMs(response.at - sigterm)} after SIGTERM` +
        `${t.reference ? ' (database still open)' : ''}; ${refused}; exit 0`
      )
    },
  },
  {
    name: 'sigterm-hung-request',
    waits: HUNG_DRAIN_MS,
    summary: 'SIGTERM with a hung request: destroyed at the drain deadline, exit 1',
    skip: REFERENCE_ONLY('a drain deadline the runner can set'),
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, DRAIN_TIMEOUT_MS: String(HUNG_DRAIN_MS) })
      await s.ready()
      const { slow, signalledAt: sigterm } = await inFlight(t, s, 600_000, { timeoutMs: HUNG_DRAIN_MS + 5_000 })
      const response = await slow
      const after = response.at - sigterm
      if (response.kind === 'complete') fail(`the hung request was answered ${response.status}; expected it destroyed at the deadline`)
      if (after < HUNG_DRAIN_MS * 0.9) fail(`the hung request was cut ${formatMs(after)} after SIGTERM, before the ${HUNG_DRAIN_MS} ms drain deadline`)
      if (after > HUNG_DRAIN_MS + 1_500) fail(`the hung request was cut only ${formatMs(after)} after SIGTERM (drain deadline ${HUNG_DRAIN_MS} ms)`)
      const exit = await s.exit(3_000, 'after the drain deadline')
      expectExitCode(s, exit, 1, 'after a forced drain')
      if (exit.how === 'process.exit') fail('it exited through the hard deadline (process.exit), not by itself after the drain deadline')
      if (!s.stderr.find(/Drain timed out/)) fail('the drain deadline was not logged')
      return `hung request destroyed ${formatMs(after)} after SIGTERM (drain deadline ${formatMs(HUNG_DRAIN_MS)}, client saw ${response.code}); exit 1`
    },
  },
  {
    name: 'pre-drain-delay',
    waits: PRE_DRAIN_MS,
    summary: 'drain with a pre-drain delay: /ready 503 while requests are still served',
    skip: REFERENCE_ONLY('a pre-drain delay the runner can set'),
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, PRE_DRAIN_DELAY_MS: String(PRE_DRAIN_MS) })
      await s.ready()
      const sigterm = s.kill('SIGTERM')
      await s.stderr.waitFor(/not ready: /, 2_000, 'the start of the pre-drain delay', t.signal)
      expectStatus(await send(s.url('/ready'), { timeoutMs: 2_000, signal: t.signal }), 503, 'GET /ready during the delay')
      const users = await send(s.url('/users'), { timeoutMs: 2_000, signal: t.signal })
      expectStatus(users, 200, 'GET /users (new connection) during the delay')
      const draining = await s.stderr.waitFor(/draining: /, PRE_DRAIN_MS + 2_000, 'the start of the drain', t.signal)
      if (users.at > draining.at) fail('GET /users was answered only after the drain began')
      const delay = draining.at - sigterm
      if (delay < PRE_DRAIN_MS * 0.9) fail(`the drain began ${formatMs(delay)} after SIGTERM, before the ${PRE_DRAIN_MS} ms delay ended`)
      const exit = await s.exit(QUICK_EXIT_MS, 'after the drain began', ignoresHint('SIGTERM'))
      expectExitCode(s, exit, 0, 'after SIGTERM')
      return `/ready 503 and GET /users 200 during the ${formatMs(PRE_DRAIN_MS)} delay; drain began after ${formatMs(delay)}; exit 0`
    },
  },
  {
    name: 'sigterm-twice',
    waits: SLOW_MS,
    summary: 'SIGTERM twice: one shutdown',
    skip: NEEDS_SLOW,
    async run(t) {
      const s = await t.spawn(NO_WORKER_CHILD)
      await s.ready()
      const { slow } = await inFlight(t, s, SLOW_MS)
      if (t.reference) await s.stderr.waitFor(/Received SIGTERM; closing gracefully/, 2_000, 'that it received SIGTERM', t.signal)
      else await refusedWhile(s, slow)
      s.kill('SIGTERM')
      if (t.reference) await s.stderr.waitFor(/while already closing; ignoring it/, 2_000, 'that it ignored the second SIGTERM', t.signal)
      const response = await slow
      expectStatus(response, 200, 'the in-flight request (two SIGTERMs)')
      const exit = await s.exit(SLOW_MS + QUICK_EXIT_MS, 'after SIGTERM', ignoresHint('SIGTERM'))
      expectExitCode(s, exit, 0, 'after two SIGTERMs')
      if (t.reference) {
        for (const [pattern, what] of [
          [/Received SIGTERM; closing gracefully/, 'began closing'],
          [/^\[reference\] draining: /, 'drained'],
          [/database closed/, 'closed the database'],
        ] as const) {
          const times = s.stderr.count(pattern)
          if (times !== 1) fail(`it ${what} ${times} times; expected once`)
        }
        return 'second SIGTERM ignored; in-flight request answered 200; each closer ran once; exit 0'
      }
      return 'in-flight request answered 200 despite a second SIGTERM; exit 0'
    },
  },
  {
    name: 'sigint-twice',
    summary: 'SIGINT twice: forced exit',
    skip: REFERENCE_ONLY('the lifecycle convention that a second Ctrl-C exits at once'),
    async run(t) {
      const s = await t.spawn()
      await s.ready()
      const { slow } = await inFlight(t, s, 60_000, { timeoutMs: 10_000, signal: 'SIGINT' })
      await s.stderr.waitFor(/^\[reference\] draining: /, 2_000, 'that it began draining', t.signal)
      const second = s.kill('SIGINT')
      const exit = await s.exit(1_500, 'after the second SIGINT')
      expectExitCode(s, exit, 130, 'after the second SIGINT')
      const response = await slow
      if (response.kind === 'complete') fail('the in-flight request was answered: the second SIGINT did not force the exit')
      return `exit 130 ${formatMs(exit.at - second)} after the second SIGINT, in-flight request abandoned; worker gone too`
    },
  },
  // The two crashes take the same path to close; the worker child's part of it is checked once.
  crashScenario('uncaught-exception', 'uncaught', /Uncaught exception: Error: test hook/, true),
  crashScenario('unhandled-rejection', 'unhandled', /Unhandled rejection: Error: test hook/, false),
  {
    name: 'port-in-use',
    summary: 'its port is taken: exit 72',
    async run(t) {
      const port = await t.blockPort()
      const s = await t.spawn({ PORT: String(port) })
      const exit = await s.exit(3_000, 'after starting on a port already in use', ': it should exit non-zero (72) when it cannot listen')
      if (t.reference) {
        expectExitCode(s, exit, 72, 'with its port in use')
        if (!s.stderr.find(/EADDRINUSE/)) fail(`the reason did not name EADDRINUSE; last line: "${s.stderr.last()}"`)
        return `exit 72 in ${formatMs(exit.sinceSignal)}: "${s.stderr.find(/EADDRINUSE/)!.text.slice(0, 90)}..."`
      }
      if (exit.code === 0) fail('exited with code 0 although it could not listen on its port')
      if (exit.code === null) fail(`was killed by ${exit.signal} instead of exiting with a code`)
      return `exit ${exit.code}${exit.code === 72 ? '' : ' (non-zero; 72 is the convention)'} in ${formatMs(exit.sinceSignal)}`
    },
  },
  {
    name: 'invalid-config',
    summary: 'invalid configuration: exit 71 with a one-line reason',
    skip: REFERENCE_ONLY('to know which configuration is invalid'),
    async run(t) {
      const s = await t.spawn({ PORT: 'eighty' })
      const exit = await s.exit(QUICK_EXIT_MS, 'with an invalid PORT')
      expectExitCode(s, exit, 71, 'with PORT=eighty')
      const lines = s.stderr.lines
      if (lines.length !== 1) fail(`printed ${lines.length} lines on stderr, expected one: ${lines.map((l) => l.text).join(' | ').slice(0, 160)}`)
      if (!lines[0]!.text.includes('PORT')) fail(`the reason did not name PORT: "${lines[0]!.text}"`)
      return `exit 71 in ${formatMs(exit.sinceSignal)}: "${lines[0]!.text}"`
    },
  },
  {
    name: 'database-unavailable',
    waits: 200,
    summary: 'database unavailable: retries with backoff, then exit 70',
    skip: REFERENCE_ONLY('a database the runner can make unreachable'),
    async run(t) {
      // A path under a regular file can never be opened (ENOTDIR), whoever runs this.
      const s = await t.spawn({ ...NO_WORKER_CHILD, DATABASE_PATH: join(process.execPath, 'users.json'), DB_CONNECT_ATTEMPTS: '4', DB_RETRY_BASE_MS: '25' })
      const exit = await s.exit(5_000, 'with its database unreachable')
      expectExitCode(s, exit, 70, 'with its database unreachable')
      const retries = s.stderr.count(/database attempt \d+ failed/)
      if (retries !== 3) fail(`logged ${retries} retries, expected 3 (4 attempts)`)
      if (!s.stderr.find(/after 4 attempts/)) fail(`the final reason did not say how many attempts; last line: "${s.stderr.last()}"`)
      return `3 retries with backoff, then exit 70 in ${formatMs(exit.sinceSignal)}`
    },
  },
  {
    name: 'restart',
    summary: 'in-process restart: same ports, new context, old connection closed',
    skip: REFERENCE_ONLY('an admin restart endpoint'),
    async run(t) {
      const dir = await mkdtemp(join(tmpdir(), 'leakguard-restart-'))
      t.defer(() => rm(dir, { recursive: true, force: true }))
      const s = await t.spawn({ ...NO_WORKER_CHILD, DATABASE_PATH: join(dir, 'users.json') })
      const first = await s.ready()
      expectStatus(await postUsers(t, s, JSON.stringify({ name: 'Grace' })), 201, 'POST /users')
      const agent = t.agent()
      let socket: net.Socket | undefined
      const before = await send(s.url('/'), { agent, timeoutMs: 3_000, signal: t.signal, onSocket: (so) => (socket = so) })
      expectStatus(before, 200, 'GET / before the restart')
      const oldContext = JSON.parse(before.body) as { generation: number; context: string }
      const closed = socket!.destroyed ? Promise.resolve() : once(socket!, 'close')
      expectStatus(await send(s.url('/restart', 'admin'), { method: 'POST', timeoutMs: 3_000, signal: t.signal }), 202, 'POST /restart')
      const second = await s.ready(5_000, oldContext.generation + 1)
      if ((await raceTimeout(closed.then(() => true), 2_000)) !== true) fail('the keep-alive connection opened before the restart was not closed')
      for (const name of ['api', 'admin', 'metrics'] as const) {
        if (second.ports[name] !== first.ports[name]) fail(`${name} moved from port ${first.ports[name]} to ${second.ports[name]}`)
      }
      const after = await send(s.url('/'), { timeoutMs: 3_000, signal: t.signal })
      expectStatus(after, 200, 'GET / after the restart')
      const newContext = JSON.parse(after.body) as { generation: number; context: string }
      if (newContext.context === oldContext.context) fail('the context (database connection) was not recreated')
      const users = await send(s.url('/users'), { timeoutMs: 3_000, signal: t.signal })
      if (!users.body.includes('"Grace"')) fail('the user created before the restart is gone: the database was not closed (written) and reopened')
      await t.stop(s)
      return (
        `same ports; context ${oldContext.context} (generation ${oldContext.generation}) -> ${newContext.context} ` +
        `(generation ${newContext.generation}); old keep-alive connection closed; data kept; exit 0`
      )
    },
  },
  {
    name: 'child-ignores-sigterm',
    waits: CHILD_KILL_MS,
    summary: 'owned child ignores SIGTERM: SIGKILLed at the deadline, no process left',
    skip: REFERENCE_ONLY('a worker child that can be told to ignore SIGTERM'),
    async run(t) {
      const s = await t.spawn({ WORKER_IGNORE_SIGTERM: '1', CHILD_TIMEOUT_MS: String(CHILD_KILL_MS) })
      const ready = await s.ready()
      const sigterm = s.kill('SIGTERM')
      const exit = await s.exit(CHILD_KILL_MS + 3_000, 'after SIGTERM')
      expectExitCode(s, exit, 1, 'after its worker had to be SIGKILLed')
      const after = exit.at - sigterm
      if (after < CHILD_KILL_MS * 0.9) fail(`exited ${formatMs(after)} after SIGTERM, before the ${CHILD_KILL_MS} ms child deadline`)
      if (!s.stderr.find(/ignored SIGTERM; SIGKILLed after/)) fail(`the SIGKILL was not logged; last line: "${s.stderr.last()}"`)
      if (ready.workerPid !== undefined && isAlive(ready.workerPid)) fail(`worker ${ready.workerPid} is still running`)
      return `worker ${ready.workerPid} ignored SIGTERM, SIGKILLed at the ${formatMs(CHILD_KILL_MS)} deadline; exit 1 after ${formatMs(after)}`
    },
  },
  {
    name: 'background-loop',
    waits: SLOW_MS,
    summary: 'the background loop stops at once',
    skip: REFERENCE_ONLY('a background loop it reports on'),
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, LOOP_INTERVAL_MS: '60000' })
      await s.ready()
      const metrics = await send(s.url('/metrics', 'metrics'), { timeoutMs: 3_000, signal: t.signal })
      expectStatus(metrics, 200, 'GET /metrics')
      if (!/^reference_loop_ticks_total [1-9]/m.test(metrics.body)) fail('the background loop had not run')
      const { slow, signalledAt: sigterm } = await inFlight(t, s, SLOW_MS)
      const stopped = await s.stderr.waitFor(/background loop stopped after/, 2_000, 'that the background loop stopped', t.signal)
      const response = await slow
      expectStatus(response, 200, 'the in-flight request')
      // The server's own count, not which of its stderr line and the response reached us first: over two pipes, a
      // starved runner can read them in either order.
      const held = /; (\d+) api request\(s\) in flight$/.exec(stopped.text)
      if (!held) fail(`the server did not say how many requests were in flight when its loop stopped: "${stopped.text}"`)
      if (Number(held[1]) === 0) fail('the loop stopped only after the in-flight request was answered: it did not stop at once')
      const exit = await s.exit(QUICK_EXIT_MS, 'after SIGTERM', ignoresHint('SIGTERM'))
      expectExitCode(s, exit, 0, 'after SIGTERM')
      return `loop (60 s interval) stopped ${formatMs(stopped.at - sigterm)} after SIGTERM, while a request was still in flight; exit 0`
    },
  },
  {
    name: 'sse-drain',
    summary: 'an SSE stream is ended at drain',
    skip: REFERENCE_ONLY('an event stream endpoint'),
    async run(t) {
      const s = await t.spawn({ ...NO_WORKER_CHILD, STREAM_INTERVAL_MS: '100', DRAIN_TIMEOUT_MS: '5000' })
      await s.ready()
      const stream = openEventStream(s.url('/stream'), { timeoutMs: 8_000, signal: t.signal })
      t.defer(stream.close)
      const first = await stream.first
      if (first !== 'hello') fail(`the stream did not open (first event: ${first ?? 'none'})`)
      const sigterm = s.kill('SIGTERM')
      const end = await stream.ended
      const endedAt = performance.now()
      if (!end.clean) fail(`the stream was cut (${end.code}) instead of ended`)
      if (end.events.at(-1) !== 'bye') fail(`the stream ended without a closing event (last: ${end.events.at(-1)})`)
      const exit = await s.exit(QUICK_EXIT_MS, 'after SIGTERM (drain deadline 5 s)', ignoresHint('SIGTERM'))
      expectExitCode(s, exit, 0, 'after SIGTERM')
      return `stream ended with a "bye" event ${formatMs(endedAt - sigterm)} after SIGTERM (${end.events.length} events); exit 0`
    },
  },
  {
    name: 'load-shutdown',
    waits: 400,
    summary: 'SIGTERM under load (50 keep-alive clients): no response cut, no accepted request reset, exit 0',
    async run(t) {
      return loadDuringShutdown(t)
    },
  },
  {
    name: 'bad-requests',
    waits: 500,
    summary: 'oversized 413, malformed 400, slow headers closed after headersTimeout; others still served',
    skip: REFERENCE_ONLY('known routes and limits'),
    async run(t) {
      const HEADERS_MS = 500
      const s = await t.spawn({ ...NO_WORKER_CHILD, HEADERS_TIMEOUT_MS: String(HEADERS_MS), MAX_BODY_BYTES: '1024' })
      await s.ready()
      const raw = net.connect(s.readyInfo!.ports.api, '127.0.0.1')
      t.defer(() => raw.destroy())
      let rawReply = ''
      raw.setEncoding('utf8').on('data', (chunk: string) => (rawReply += chunk))
      raw.on('error', () => {})
      const rawClosed = once(raw, 'close').then(() => performance.now())
      await once(raw, 'connect')
      const headersStarted = performance.now()
      raw.write('GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      const [oversized, malformed, good] = await Promise.all([
        postUsers(t, s, JSON.stringify({ name: 'x'.repeat(4_096) })),
        postUsers(t, s, '{"name":'),
        send(s.url('/users'), { timeoutMs: 3_000, signal: t.signal }),
      ])
      expectStatus(oversized, 413, 'an oversized POST /users')
      expectStatus(malformed, 400, 'a malformed POST /users')
      expectStatus(good, 200, 'GET /users next to them')
      const closedAt = await raceTimeout(rawClosed, HEADERS_MS + 3_000)
      if (closedAt === undefined) fail(`a client that never finished its headers was still connected ${HEADERS_MS + 3_000} ms later`)
      const after = closedAt - headersStarted
      if (after < HEADERS_MS * 0.9) fail(`the slow-headers client was dropped after ${formatMs(after)}, before headersTimeout (${HEADERS_MS} ms)`)
      const status = /^HTTP\/1\.1 (\d+)/.exec(rawReply)?.[1] ?? 'no response'
      expectStatus(await send(s.url('/users'), { timeoutMs: 3_000, signal: t.signal }), 200, 'GET /users afterwards')
      await t.stop(s)
      return `413 oversized, 400 malformed, slow headers closed after ${formatMs(after)} (${status}, headersTimeout ${HEADERS_MS} ms); still serving; exit 0`
    },
  },  ...CLUSTER_SCENARIOS,
]

/** POST /users with a JSON body (well-formed or not, as the scenario needs). */
function postUsers(t: ScenarioContext, s: ServerProcess, body: string): Promise<Outcome> {
  return send(s.url('/users'), {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json' },
    timeoutMs: 3_000,
    signal: t.signal,
  })
}

function crashScenario(name: string, kind: 'uncaught' | 'unhandled', logged: RegExp, withChild: boolean): Scenario {
  const what = kind === 'uncaught' ? 'an uncaught exception' : 'an unhandled rejection'
  return {
    name,
    summary: `${what}: cleanup runs, exit 1`,
    skip: REFERENCE_ONLY(`a test hook that throws ${what}`),
    async run(t) {
      const s = await t.spawn({ ...(withChild ? {} : NO_WORKER_CHILD), REFERENCE_TEST_HOOKS: '1' })
      await s.ready()
      expectStatus(await send(s.url(`/debug/${kind}`, 'admin'), { method: 'POST', timeoutMs: 3_000, signal: t.signal }), 202, `POST /debug/${kind}`)
      const exit = await s.exit(3_000, `after ${what}`)
      expectExitCode(s, exit, 1, `after ${what}`)
      if (!s.stderr.find(logged)) fail(`${what} was not logged`)
      const missing = [
        [/background loop stopped/, 'loop'],
        [/^\[reference\] drained in/, 'drain'],
        [/database closed/, 'database'],
        ...(withChild ? [[/worker \d+ exited/, 'worker']] : []),
      ].filter(([pattern]) => !s.stderr.find(pattern as RegExp))
      if (missing.length > 0) fail(`cleanup skipped: ${missing.map(([, step]) => step).join(', ')}`)
      return `${what} logged; cleanup ran (loop, drain, database${withChild ? ', worker' : ''}); exit 1 in ${formatMs(exit.at - s.startedAt - s.readyInfo!.ms)}`
    },
  }
}

/**
 * For a server whose logs we cannot read: tries new connections every 20 ms while `pending` is unsettled, and
 * resolves `true` as soon as one is refused (the listener is closed), `false` if none was before `pending` settled.
 */
async function refusedWhile(s: ServerProcess, pending: Promise<unknown>): Promise<boolean> {
  let settled = false
  void pending.then(() => (settled = true))
  for (;;) {
    if ((await connectOutcome(s.port!)) === 'ECONNREFUSED') return true
    if (settled || s.exitInfo) return false
    await raceTimeout(pending, 20)
  }
}

async function loadDuringShutdown(t: ScenarioContext): Promise<string> {
  const CLIENTS = 50
  const PER_CLIENT = 20
  // SIGTERM once every client has had two answers, during its third request: the load is what is in flight then, not
  // how many came before (up to 50 requests; fewer when a starved runner lags behind the server's answers).
  const TRIGGER = 2 * CLIENTS
  const s = await t.spawn({ ...NO_WORKER_CHILD, KEEP_ALIVE_TIMEOUT_MS: '60000' })
  await s.ready()
  // The reference server's requests take 50 ms, half of it mid-body for the streamed ones: long enough that some are in
  // flight when SIGTERM arrives even where the runner is slow to send the next (a loaded machine), so that a server
  // that cuts them on close is caught.
  const paths = t.reference
    ? ['/slow?ms=50', '/slow?ms=50&stream=1']
    : t.slowPath(20) !== undefined
      ? [t.slowPath(20)!]
      : [t.health]
  let sigterm = 0
  let complete = 0
  let ok = 0
  let afterSigterm = 0
  let closeHeader = 0
  const cut: string[] = []
  const early: string[] = []
  const notAccepted = new Map<string, number>()
  const triggered = deferred()

  async function client(index: number): Promise<void> {
    const agent = t.agent({ maxSockets: 1 })
    const path = paths[index % paths.length]!
    for (let n = 0; n < PER_CLIENT; n++) {
      const outcome = await send(s.url(path), { agent, timeoutMs: 5_000, signal: t.signal })
      if (outcome.kind === 'complete') {
        complete += 1
        if (outcome.status === 200) ok += 1
        if (sigterm) afterSigterm += 1
        if (outcome.headers.connection === 'close') closeHeader += 1
        if (complete >= TRIGGER) triggered.resolve()
        continue
      }
      if (outcome.kind === 'cut') {
        cut.push(`${path} ${outcome.status} ${outcome.code}`)
        return
      }
      // No response at all. Before SIGTERM the server failed under load; after it, a refused connection or one closed
      // before the request was read, which the server's own count of accepted requests must confirm.
      if (!sigterm) early.push(outcome.code)
      else notAccepted.set(outcome.code, (notAccepted.get(outcome.code) ?? 0) + 1)
      return
    }
  }

  const clients = Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index)))
  await Promise.race([triggered.promise, clients])
  if (early.length > 0) fail(`${early.length} request(s) failed under load before SIGTERM (${[...new Set(early)].join(', ')})`)
  if (complete < TRIGGER) fail(`only ${complete} responses before the clients gave up`)
  sigterm = s.kill('SIGTERM')
  await clients
  const exit = await s.exit(5_000, 'after SIGTERM under load', ignoresHint('SIGTERM'))
  if (cut.length > 0) fail(`${cut.length} response(s) cut mid-body during shutdown (e.g. ${cut[0]})`)
  expectExitCode(s, exit, 0, 'after SIGTERM under load')
  const refusedText = [...notAccepted].map(([code, count]) => `${count} ${code}`).join(', ') || 'none'
  if (t.reference) {
    const drained = s.stderr.find(/^\[reference\] drained in/)
    const counts = drained && /api accepted (\d+), finished (\d+), cut (\d+)/.exec(drained.text)
    if (!counts) fail('the server did not log its request counts')
    const [accepted, finished, serverCut] = counts.slice(1).map(Number) as [number, number, number]
    if (serverCut > 0 || finished !== accepted) fail(`the server cut ${accepted - finished} of the ${accepted} requests it accepted`)
    if (ok !== accepted) fail(`the server accepted ${accepted} requests but clients got ${ok} whole 200 responses: ${accepted - ok} accepted request(s) were reset`)
  }
  return (
    `${CLIENTS} clients, ${complete} whole responses (${afterSigterm} after SIGTERM, ${closeHeader} with Connection: close), ` +
    `0 cut${t.reference ? ', every accepted request answered' : ''}; not accepted: ${refusedText}; exit 0 ${formatMs(exit.sinceSignal)} after SIGTERM`
  )
}
