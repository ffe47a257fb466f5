// The cluster scenarios: the reference server with WORKERS=2, a primary and two workers sharing the ports. Each checks
// what the single-process scenarios check, and one thing more: no worker outlives the primary.

import { setTimeout as sleep } from 'node:timers/promises'
import {
  DEADLINE_MS,
  deferred,
  expectExitCode,
  expectStatus,
  fail,
  formatMs,
  inFlight,
  NO_WORKER_CHILD,
  QUICK_EXIT_MS,
  raceTimeout,
  REFERENCE_ONLY,
  type Exit,
  type Scenario,
  type ScenarioContext,
  type ServerProcess,
} from './context.js'
import { connectOutcome, send, type Outcome } from './http.js'
import { isAlive } from './procs.js'

const WORKERS = 2
/**
 * The request held in flight: longer than SLOW_MS, since SIGTERM reaches the worker through the primary (its close,
 * then an IPC message), and a response finished before the worker heard would go out without Connection: close.
 */
const CLUSTER_SLOW_MS = 1_500
const ONLY_REFERENCE = REFERENCE_ONLY('WORKERS=N and the worker pids in its ready announcement')
/** Bounds of the traffic kept up while a worker is killed: loopback only, a few clients, a capped count. */
const KILL_CLIENTS = 4
const KILL_MAX_REQUESTS = 3_000
const KILL_GIVE_UP_MS = 6_000
/** Each client's pause between requests: the gap is measured to ~25 ms without taking CPU from other scenarios. */
const KILL_PACE_MS = 25

export const CLUSTER_SCENARIOS: readonly Scenario[] = [
  {
    name: 'cluster-sigterm-in-flight',
    waits: CLUSTER_SLOW_MS,
    summary:
      `WORKERS=${WORKERS}: the workers share one port and requests reach each of them; then SIGTERM with a request in flight on a ` +
      'worker: answered with Connection: close; the primary exits 0 after the last worker',
    skip: ONLY_REFERENCE,
    startCost: WORKERS,
    async run(t) {
      const { s, ready, workers } = await startCluster(t, { ...NO_WORKER_CHILD, DRAIN_TIMEOUT_MS: '5000' })
      const shared = await expectPortShared(t, s, ready, workers)
      const { slow, signalledAt } = await inFlight(t, s, CLUSTER_SLOW_MS, { arrived: () => onAWorker(t, s) })
      await s.stderr.waitFor(/Asked \d+ worker\(s\) to disconnect/, 3_000, 'that it asked the workers to disconnect', t.signal)
      const refused = await connectOutcome(s.readyInfo!.ports.api)
      const response = await slow
      expectStatus(response, 200, 'the in-flight request')
      if (response.headers.connection !== 'close') {
        fail(`the in-flight response came without Connection: close (Connection: ${response.headers.connection ?? 'absent'})`)
      }
      const servedBy = pidOf(response, 'the in-flight request')
      if (refused !== 'ECONNREFUSED') fail(`a new connection after the disconnect was ${refused === 'connected' ? 'accepted' : refused}, expected refused`)
      const exit = await s.exit(CLUSTER_SLOW_MS + QUICK_EXIT_MS, 'after SIGTERM')
      expectExitCode(s, exit, 0, 'after SIGTERM')
      await expectWorkersGone(s, workers, exit, 'after SIGTERM')
      return (
        `${shared}; request in flight on worker ${servedBy} answered 200 with Connection: close ` +
        `${formatMs(response.at - signalledAt)} after SIGTERM; new connection refused; exit 0 after the last worker`
      )
    },
  },
  {
    name: 'cluster-worker-killed',
    // The replacement's start-up, which it waits for.
    waits: 1_500,
    summary: `a worker SIGKILLed while open: respawned, the other keeps answering (${KILL_CLIENTS} clients); measures the gap`,
    skip: ONLY_REFERENCE,
    startCost: WORKERS,
    async run(t) {
      return workerKilled(t)
    },
  },
  {
    name: 'cluster-ignores-disconnect',
    waits: DEADLINE_MS,
    summary: 'a worker ignores the disconnect: SIGKILLed at the deadline and named, exit 1, no process left',
    skip: ONLY_REFERENCE,
    startCost: WORKERS,
    async run(t) {
      const { s, workers } = await startCluster(t, { CLUSTER_IGNORE_DISCONNECT: '1', CLUSTER_TIMEOUT_MS: String(DEADLINE_MS) })
      const sigterm = s.kill('SIGTERM')
      const exit = await s.exit(DEADLINE_MS + 3_000, 'after SIGTERM')
      expectExitCode(s, exit, 1, 'after a worker had to be SIGKILLed')
      const after = exit.at - sigterm
      if (after < DEADLINE_MS * 0.9) fail(`exited ${formatMs(after)} after SIGTERM, before the ${DEADLINE_MS} ms deadline`)
      const line = s.stderr.find(/Worker\(s\) ([\d, ]+) still running \d+ ms after the disconnect; sent SIGKILL/)
      if (!line) fail(`the SIGKILL was not logged with the pid; last line: "${s.stderr.last()}"`)
      const named = /Worker\(s\) ([\d, ]+) still/.exec(line.text)![1]!
      if (named !== String(workers[0])) fail(`the SIGKILL named ${named}, expected the stubborn worker ${workers[0]}`)
      await expectWorkersGone(s, workers, exit, 'after the deadline')
      return `worker ${named} ignored the disconnect, SIGKILLed at the ${formatMs(DEADLINE_MS)} deadline; the other exited by itself; exit 1 after ${formatMs(after)}`
    },
  },
  {
    name: 'cluster-sigint-twice',
    summary: 'SIGINT twice with a request in flight on a worker: exit 130, no worker left behind',
    skip: ONLY_REFERENCE,
    startCost: WORKERS,
    async run(t) {
      const { s, workers } = await startCluster(t, NO_WORKER_CHILD)
      const { slow } = await inFlight(t, s, 60_000, { timeoutMs: 10_000, signal: 'SIGINT' })
      await s.stderr.waitFor(/^\[reference\] draining: /, 3_000, 'that a worker began draining', t.signal)
      const second = s.kill('SIGINT')
      const exit = await s.exit(1_500, 'after the second SIGINT')
      expectExitCode(s, exit, 130, 'after the second SIGINT')
      // SIGKILLed from the primary's exit listener: the kernel may need a moment to reap them.
      await expectWorkersGone(s, workers, exit, 'after the second SIGINT', 250)
      const response = await slow
      if (response.kind === 'complete') fail('the in-flight request was answered: the second SIGINT did not force the exit')
      return `exit 130 ${formatMs(exit.at - second)} after the second SIGINT, in-flight request abandoned; workers ${workers.join(', ')} gone`
    },
  },
]

async function startCluster(
  t: ScenarioContext,
  env: Readonly<Record<string, string>> = {},
): Promise<{ s: ServerProcess; ready: NonNullable<ServerProcess['readyInfo']>; workers: readonly number[] }> {
  const s = await t.spawn({ WORKERS: String(WORKERS), ...env })
  const ready = await s.ready(10_000)
  const workers = ready.workers ?? []
  if (workers.length !== WORKERS) fail(`the ready announcement listed ${workers.length} worker pid(s), expected ${WORKERS}`)
  return { s, ready, workers }
}

/**
 * The cluster's readiness: GET / until both workers answered (at most 8 tries), each answer from a worker it announced.
 * This opens the SIGTERM scenario rather than running as its own: a cluster costs three Node start-ups, and these checks
 * need only a few milliseconds of the one already running.
 */
async function expectPortShared(
  t: ScenarioContext,
  s: ServerProcess,
  ready: NonNullable<ServerProcess['readyInfo']>,
  workers: readonly number[],
): Promise<string> {
  const answered = new Set<number>()
  let requests = 0
  while (requests < 8 && answered.size < WORKERS) {
    requests += 1
    answered.add(pidOf(await send(s.url('/'), { timeoutMs: 3_000, signal: t.signal }), 'GET /'))
  }
  const strangers = [...answered].filter((pid) => !workers.includes(pid))
  if (strangers.length > 0) fail(`GET / was answered by pid ${strangers.join(', ')}, not one of the workers announced (${workers.join(', ')})`)
  if (answered.size < 2) fail(`${requests} requests on port ${ready.ports.api} all reached worker ${[...answered].join(', ')}`)
  return `ready in ${formatMs(ready.ms)}: ${WORKERS} workers (${workers.join(', ')}) share port ${ready.ports.api}, ${requests} requests reached ${answered.size} pids`
}

/**
 * Waits until a worker holds the slow request: the primary accepts connections and hands each to a worker, so a request
 * written, and a later one answered, do not prove it was handed on yet, and a disconnect before that resets it. Each
 * worker counts its requests in flight on /metrics; the primary hands the polls to the workers in turn.
 */
async function onAWorker(t: ScenarioContext, s: ServerProcess): Promise<void> {
  const giveUpAt = performance.now() + 3_000
  while (performance.now() < giveUpAt) {
    const metrics = await send(s.url('/metrics', 'metrics'), { timeoutMs: 3_000, signal: t.signal })
    expectStatus(metrics, 200, 'GET /metrics')
    if (/^reference_http_requests_in_flight\{listener="api"\} [1-9]/m.test(metrics.body)) return
    await sleep(10, undefined, { signal: t.signal }).catch(() => {})
  }
  fail('the slow request was not in flight on either worker within 3 s of being sent')
}

/** The pid in a reference server's JSON answer (`/` and `/slow` both carry one). */
function pidOf(outcome: Outcome, what: string): number {
  expectStatus(outcome, 200, what)
  const pid = (JSON.parse(outcome.body) as { pid?: unknown }).pid
  if (typeof pid !== 'number') fail(`${what} did not say which pid answered: ${outcome.body.slice(0, 120)}`)
  return pid
}

/** Fails when a worker is still running once the primary exited (after `graceMs`, for ones SIGKILLed on the way out). */
async function expectWorkersGone(s: ServerProcess, pids: readonly number[], exit: Exit, when: string, graceMs = 0): Promise<void> {
  let alive = pids.filter(isAlive)
  const deadline = exit.at + graceMs
  while (alive.length > 0 && performance.now() < deadline) {
    await sleep(10)
    alive = alive.filter(isAlive)
  }
  if (alive.length > 0) fail(`worker(s) ${alive.join(', ')} still running after the primary ${s.pid} exited ${when}`)
}

async function workerKilled(t: ScenarioContext): Promise<string> {
  const { s, workers } = await startCluster(t, NO_WORKER_CHILD)
  const victim = workers[0]!
  let killedAt = 0
  let requests = 0
  let duringGap = 0
  let answeredInGap = 0
  let replacement: { pid: number; at: number } | undefined
  const failed: string[] = []
  const cutByKill: string[] = []
  const early: string[] = []
  const warmedUp = deferred()
  let answered = 0
  const giveUpAt = () => killedAt + KILL_GIVE_UP_MS

  async function client(): Promise<void> {
    while (!replacement && requests < KILL_MAX_REQUESTS && (killedAt === 0 || performance.now() < giveUpAt())) {
      requests += 1
      const sentAt = performance.now()
      // A connection handed to the dead worker is held unanswered: the time-out bounds it (GET / takes milliseconds).
      const outcome = await send(s.url('/'), { timeoutMs: 1_000, signal: t.signal })
      const found = replacement as { pid: number; at: number } | undefined // set by another client meanwhile
      const inGap = killedAt > 0 && (found === undefined || sentAt < found.at)
      if (inGap) duringGap += 1
      if (outcome.kind !== 'complete' || outcome.status !== 200) {
        const what = `${outcome.kind} ${outcome.status || outcome.code}`
        // Sent before the kill, it may have been on the victim: lost with it, which no primary can prevent.
        if (inGap) (sentAt < killedAt ? cutByKill : failed).push(what)
        else early.push(what)
        if (!inGap) return
        continue
      }
      const pid = (JSON.parse(outcome.body) as { pid: number }).pid
      if (inGap) answeredInGap += 1
      if (killedAt > 0 && !workers.includes(pid)) replacement ??= { pid, at: outcome.at }
      if (++answered >= 20) warmedUp.resolve()
      await sleep(KILL_PACE_MS, undefined, { signal: t.signal }).catch(() => {})
    }
  }

  const clients = Promise.all(Array.from({ length: KILL_CLIENTS }, () => client()))
  await Promise.race([warmedUp.promise, clients])
  if (early.length > 0) fail(`${early.length} request(s) failed before any worker was killed (${early[0]})`)
  killedAt = performance.now()
  process.kill(victim, 'SIGKILL')
  await raceTimeout(clients, KILL_GIVE_UP_MS + 3_000)
  if (!replacement) fail(`no replacement for worker ${victim} answered within ${formatMs(KILL_GIVE_UP_MS)} of its SIGKILL${s.stderr.last() ? ` (last line: "${s.stderr.last()}")` : ''}`)
  if (!s.stderr.find(new RegExp(`Worker ${victim} \\(slot 0\\) exited unexpectedly \\(SIGKILL\\); respawning in`))) {
    fail(`the primary did not log that worker ${victim} died and is respawned`)
  }
  // Node's round-robin primary may hand a connection or two to the victim in the moments before it sees the exit:
  // reset, or held unanswered. Each client can lose at most its request of that moment; more means the service broke.
  const lost = cutByKill.length + failed.length
  if (lost > KILL_CLIENTS) fail(`${lost} requests failed after the SIGKILL (${[...new Set([...cutByKill, ...failed])].join(', ')}); at most ${KILL_CLIENTS} may be lost with the worker`)
  if (answeredInGap === 0) fail(`no request was answered between the SIGKILL and the replacement's first answer: worker ${workers[1]} did not keep serving`)
  const lostText =
    lost === 0
      ? '0 failed'
      : `${lost} failed (${cutByKill.length} in flight at the SIGKILL, ${failed.length} sent after it and handed to the dead worker: ` +
        `${[...new Set([...cutByKill, ...failed])].join(', ')})`
  const exit = await t.stop(s)
  await expectWorkersGone(s, [...workers, replacement.pid], exit, 'after SIGTERM')
  return (
    `worker ${victim} SIGKILLed; replacement ${replacement.pid} answered ${formatMs(replacement.at - killedAt)} later; ` +
    `meanwhile ${answeredInGap} of ${duringGap} requests answered by worker ${workers[1]}, ${lostText}; exit 0, no worker left`
  )
}
