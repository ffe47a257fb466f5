// What a scenario works with: the server processes it starts (output, IPC, exit, the exit probe), the checks that end
// it with a one-line reason, and the clean-up that runs whatever happened: every process closed, nothing left behind.

import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { send, type Outcome } from './http.js'
import { canFindDescendants, findMarked, isAlive, livePids, MARKER_ENV, type LeftProcess } from './procs.js'

/** A check did not hold. Its message is the row's detail: one line, saying what was expected and what happened. */
export class ScenarioFailure extends Error {
  override readonly name = 'ScenarioFailure'
}

export function fail(message: string): never {
  throw new ScenarioFailure(message)
}

/** What the scenarios run against. */
export type Target =
  | { readonly kind: 'reference'; readonly argv: readonly string[]; readonly label: string }
  | {
      readonly kind: 'command'
      readonly argv: readonly string[]
      readonly env: Readonly<Record<string, string>>
      readonly health: string
      readonly slowPath: string | undefined
      readonly label: string
    }

export interface Ports {
  readonly api: number
  readonly admin?: number
  readonly metrics?: number
}

export interface Ready {
  /** From spawn to ready, in milliseconds. */
  readonly ms: number
  readonly ports: Ports
  readonly generation?: number
  readonly workerPid?: number
  /** The cluster workers' pids, when the reference server runs as a cluster (`WORKERS` > 1). */
  readonly workers?: readonly number[]
}

export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** `performance.now()` when the process was gone (its 'close' event). */
  readonly at: number
  /** Milliseconds from the last signal the runner sent it to its exit (from spawn when none was sent). */
  readonly sinceSignal: number
  /**
   * How it ended, from the exit probe: `natural` (its event loop ran dry), `process.exit` (called from `exitAt`),
   * or `unknown` (killed by a signal, or not a Node.js process so the probe did not load).
   */
  readonly how: 'natural' | 'process.exit' | 'unknown'
  readonly exitAt?: string
  /** The spawn error, when the command could not be started at all. */
  readonly spawnError?: string
}

export interface Line {
  readonly text: string
  /** `performance.now()` when the runner received it. */
  readonly at: number
}

const PROBE_PATH = fileURLToPath(new URL('./probe.cjs', import.meta.url))
const PROBE_PREFIX = '[leakguard:exit] '
/** A process.exit call from here is the lifecycle's own deadline (or repeated-SIGINT) path, which is allowed. */
const LIFECYCLE_EXIT = /[\\/](lifecycle[\\/]process\.js|reference[\\/]bundle-lifecycle-process\.cjs):/

/** A process's output, line by line, with arrival times and waits. Probe records are kept apart. */
export class Lines {
  readonly lines: Line[] = []
  readonly probes: { pid: number; how: string; code: number; at?: string }[] = []
  private partial = ''
  private ended = false
  private readonly waiters = new Set<() => void>()

  push(chunk: string): void {
    this.partial += chunk
    let at: number
    while ((at = this.partial.indexOf('\n')) !== -1) {
      this.add(this.partial.slice(0, at))
      this.partial = this.partial.slice(at + 1)
    }
    for (const waiter of [...this.waiters]) waiter()
  }

  end(): void {
    if (this.partial !== '') this.add(this.partial)
    this.partial = ''
    this.ended = true
    for (const waiter of [...this.waiters]) waiter()
  }

  private add(text: string): void {
    if (text.startsWith(PROBE_PREFIX)) {
      try {
        this.probes.push(JSON.parse(text.slice(PROBE_PREFIX.length)))
      } catch {
        // A torn line; the probe check then reports `unknown`.
      }
      return
    }
    if (text.trim() !== '') this.lines.push({ text, at: performance.now() })
  }

  find(pattern: RegExp): Line | undefined {
    return this.lines.find((line) => pattern.test(line.text))
  }

  count(pattern: RegExp): number {
    return this.lines.filter((line) => pattern.test(line.text)).length
  }

  /** The last telling line, shortened, for failure messages: a crash's error line rather than its stack or banner. */
  last(): string {
    const noise = /^\s+at |^Node\.js v\d|^\s*\^+\s*$|^\s*$/
    const text = [...this.lines].reverse().find((line) => !noise.test(line.text))?.text ?? this.lines.at(-1)?.text ?? ''
    return text.length > 160 ? `${text.slice(0, 157)}...` : text
  }

  /** Resolves with the first line matching `pattern`; fails after `timeoutMs`, or once the stream ended without one. */
  waitFor(pattern: RegExp, timeoutMs: number, what: string, signal: AbortSignal): Promise<Line> {
    return new Promise<Line>((resolve, reject) => {
      const check = () => {
        const line = this.find(pattern)
        if (line) return done(undefined, line)
        if (this.ended) done(new ScenarioFailure(`the server never logged ${what} (it exited; last line: "${this.last()}")`))
      }
      const done = (error?: Error, line?: Line) => {
        clearTimeout(timer)
        this.waiters.delete(check)
        signal.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(line!)
      }
      const onAbort = () => done(signal.reason as Error)
      const timer = setTimeout(
        () => done(new ScenarioFailure(`the server did not log ${what} within ${timeoutMs} ms (last line: "${this.last()}")`)),
        timeoutMs,
      )
      this.waiters.add(check)
      signal.addEventListener('abort', onAbort, { once: true })
      check()
    })
  }
}

/**
 * The servers started and not yet seen to exit, across scenarios. A search for what one server left behind skips the
 * others and their announced workers (they carry their own markers, and they are the processes busiest starting up),
 * and every process older than the server.
 */
const running = new Set<ServerProcess>()

/** One server process started by a scenario. */
export class ServerProcess {
  readonly child: ChildProcess
  /** The processes alive before it started: none of them can carry its marker. */
  readonly olderPids = livePids()
  readonly startedAt = performance.now()
  readonly stderr = new Lines()
  readonly stdout = new Lines()
  readonly exited: Promise<Exit>
  exitInfo: Exit | undefined
  readyInfo: Ready | undefined
  lastSignal: { readonly signal: NodeJS.Signals; readonly at: number } | undefined
  private readonly messages: unknown[] = []
  private readonly messageWaiters = new Set<() => void>()

  constructor(
    readonly target: Target,
    readonly marker: string,
    argv: readonly string[],
    env: NodeJS.ProcessEnv,
    cwd: string | undefined,
    private readonly signal: AbortSignal,
    readonly port: number | undefined,
    private readonly onReady: () => void = () => {},
  ) {
    const ipc = target.kind === 'reference'
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env,
      stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    })
    if (this.child.pid !== undefined) {
      // A spawn that failed has no pid and never emits 'exit'.
      running.add(this)
      this.child.once('exit', () => running.delete(this))
    }
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.stdout.push(chunk))
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk))
    this.child.on('message', (message) => {
      this.messages.push(message)
      for (const waiter of [...this.messageWaiters]) waiter()
    })
    this.exited = new Promise<Exit>((resolve) => {
      let exitedAt: number | undefined
      let closeTimer: NodeJS.Timeout | undefined
      const settle = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
        if (this.exitInfo) return
        clearTimeout(closeTimer)
        this.stdout.end()
        this.stderr.end()
        const at = exitedAt ?? performance.now()
        const probe = this.stderr.probes.find((record) => record.pid === this.child.pid)
        this.exitInfo = {
          code,
          signal,
          at,
          sinceSignal: at - (this.lastSignal?.at ?? this.startedAt),
          how: probe && signal === null ? (probe.how === 'process.exit' ? 'process.exit' : 'natural') : 'unknown',
          exitAt: probe?.at,
          spawnError,
        }
        for (const waiter of [...this.messageWaiters]) waiter()
        resolve(this.exitInfo)
      }
      this.child.once('exit', (code, signal) => {
        exitedAt = performance.now()
        // 'close' also waits for stdout and stderr, which a descendant left behind may hold open for ever.
        closeTimer = setTimeout(() => {
          this.child.stdout?.destroy()
          this.child.stderr?.destroy()
          settle(code, signal)
        }, 1_000)
      })
      this.child.once('close', (code, signal) => settle(code, signal))
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        // Only a failed spawn ends here; a failed kill() also emits 'error' but the process lives on.
        if (this.child.pid === undefined) settle(null, null, `${error.code ?? error.message}`)
      })
    })
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  /** Sends a signal; returns when it was sent (`performance.now()`). */
  kill(signal: NodeJS.Signals): number {
    const at = performance.now()
    this.lastSignal = { signal, at }
    if (!this.exitInfo && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, signal)
      } catch {
        // Gone already: the exit checks will say so.
      }
    }
    return at
  }

  /** `http://127.0.0.1:<port><path>` on the given listener (`api` unless told). */
  url(path: string, listener: keyof Ports = 'api'): string {
    const port = this.readyInfo?.ports[listener]
    if (port === undefined) throw new Error(`No ${listener} port known for this server.`)
    return `http://127.0.0.1:${port}${path}`
  }

  /** Waits for the exit; fails with "still running …" after `withinMs`. The process is killed by the clean-up. */
  async exit(withinMs: number, after: string, hint = ''): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ScenarioFailure(`still running ${withinMs} ms ${after}${hint} (SIGKILLed it)`)), withinMs)
    })
    try {
      return await Promise.race([this.exited, timeout, aborted(this.signal)])
    } finally {
      clearTimeout(timer)
    }
  }

  /** The next IPC message matching `accept` (earlier ones included). */
  message<T>(accept: (message: unknown) => message is T, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(accept)
        if (found !== undefined) return done(undefined, found)
        if (this.exitInfo) done(new ScenarioFailure(`${describeExit(this.exitInfo)} before ${what}${lastWords(this)}`))
      }
      const done = (error?: Error, message?: T) => {
        clearTimeout(timer)
        this.messageWaiters.delete(check)
        this.signal.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(message!)
      }
      const onAbort = () => done(this.signal.reason as Error)
      const timer = setTimeout(() => done(new ScenarioFailure(`no ${what} within ${timeoutMs} ms${lastWords(this)}`)), timeoutMs)
      this.messageWaiters.add(check)
      this.signal.addEventListener('abort', onAbort, { once: true })
      check()
    })
  }

  /**
   * Ready: the reference server's IPC announcement (the one for `generation`, when given); any other server once its
   * health path answers 200, polled every 25 ms.
   */
  async ready(timeoutMs = 8_000, generation?: number): Promise<Ready> {
    if (this.target.kind === 'reference') {
      const isReady = (message: unknown): message is ReadyMessage =>
        (message as ReadyMessage)?.type === 'leakguard:ready' && (generation === undefined || (message as ReadyMessage).generation === generation)
      const message = await this.message(isReady, timeoutMs, generation === undefined ? 'it announced it was ready' : `it announced generation ${generation}`)
      this.readyInfo = {
        ms: performance.now() - this.startedAt,
        ports: message.ports,
        generation: message.generation,
        workerPid: message.workerPid,
        workers: message.workers,
      }
      this.onReady()
      return this.readyInfo
    }
    const health = this.target.health
    const url = `http://127.0.0.1:${this.port}${health}`
    const deadline = performance.now() + timeoutMs
    let last: Outcome | undefined
    for (;;) {
      this.signal.throwIfAborted()
      if (this.exitInfo) fail(`${describeExit(this.exitInfo)} before ${health} answered 200${lastWords(this)}`)
      last = await send(url, { timeoutMs: 1_000, signal: this.signal })
      if (last.kind === 'complete' && last.status === 200) break
      if (performance.now() > deadline) {
        fail(`${health} did not answer 200 within ${timeoutMs} ms (last answer: ${last.status || last.code})${lastWords(this)}`)
      }
      await raceTimeout(this.exited, 25)
    }
    this.readyInfo = { ms: performance.now() - this.startedAt, ports: { api: this.port! } }
    this.onReady()
    return this.readyInfo
  }
}

interface ReadyMessage {
  readonly type: 'leakguard:ready'
  readonly generation: number
  readonly ports: { api: number; admin: number; metrics: number }
  readonly workerPid: number
  readonly workers?: readonly number[]
}

/**
 * The deadline the reference server is started with where a scenario waits for one. 2.5 s is long enough for the
 * start-up of every other scenario's server (CPU-bound: about 4 CPU-seconds in all, on 2 cores) to fit inside it.
 */
export const DEADLINE_MS = 2_500
/**
 * For the scenarios that are not about child processes: the reference server without its worker child, a Node
 * process less to start for each (they test the HTTP side of shutdown, or repeat a path another one checks with the
 * child). It stays in ready, SIGINT twice, the uncaught exception, the port in use, the child that ignores SIGTERM
 * and the cluster worker that ignores the disconnect (SIGKILLed: its child must go too).
 */
export const NO_WORKER_CHILD: Readonly<Record<string, string>> = { WORKER_CHILD: '0' }
/** How long an idle server may take to exit after SIGTERM. */
export const QUICK_EXIT_MS = 2_000
/** How long the slow request a scenario holds in flight takes. */
export const SLOW_MS = 800

export const REFERENCE_ONLY = (what: string) => () => `needs ${what}, which only the reference server has`

export interface Scenario {
  readonly name: string
  /** What it proves, in a few words. */
  readonly summary: string
  /** How long it waits on purpose (a deadline, a slow request), in ms: the runner starts the longest first. */
  readonly waits?: number
  /**
   * What its server's start-up costs, in single servers (a cluster of two workers: 2). The runner starts at most four
   * servers' worth at once, so a heavy start-up does not starve the timing of the others. Default 1.
   */
  readonly startCost?: number
  /** Why it cannot run against this `--server`, or `undefined` when it can. */
  readonly skip?: (target: Extract<Target, { kind: 'command' }>) => string | undefined
  readonly run: (t: ScenarioContext) => Promise<string>
}

/** Everything a scenario gets. Anything it starts through here is closed when it ends, pass or fail. */
export class ScenarioContext {
  readonly processes: ServerProcess[] = []
  private readonly cleanups: (() => unknown)[] = []
  private closed = false
  private readonly started = deferred()
  /** Resolves once its first server is ready, or once the scenario ended without one. */
  readonly startedUp: Promise<void> = this.started.promise

  constructor(
    readonly target: Target,
    readonly name: string,
    readonly signal: AbortSignal,
    private readonly baseEnv: NodeJS.ProcessEnv,
    private readonly cwd: string | undefined,
    private readonly runId: string,
  ) {}

  get reference(): boolean {
    return this.target.kind === 'reference'
  }

  get health(): string {
    return this.target.kind === 'command' ? this.target.health : '/health'
  }

  /** The slow path for `ms` milliseconds, or `undefined` when the target has none. */
  slowPath(ms: number): string | undefined {
    if (this.target.kind === 'reference') return `/slow?ms=${ms}`
    return this.target.slowPath?.replaceAll('{ms}', String(ms))
  }

  /**
   * Starts the server. `env` configures the reference server; for a `--server` command only its `PORT` is used
   * (overriding the free port picked), since the other variables mean nothing to an arbitrary server.
   */
  async spawn(env: Readonly<Record<string, string>> = {}): Promise<ServerProcess> {
    if (this.closed) throw new Error('The scenario already ended.')
    const marker = `${this.runId}-${this.name}-${this.processes.length + 1}`
    const probe = `--require ${PROBE_PATH.includes(' ') ? JSON.stringify(PROBE_PATH) : PROBE_PATH}`
    const nodeOptions = [this.baseEnv.NODE_OPTIONS, probe].filter(Boolean).join(' ')
    let port: number | undefined
    let fullEnv: NodeJS.ProcessEnv
    if (this.target.kind === 'reference') {
      fullEnv = { ...this.baseEnv, HOST: '127.0.0.1', PORT: '0', ADMIN_PORT: '0', METRICS_PORT: '0', ...env }
      // The reference server makes no TLS connections; loading an extra CA bundle costs every Node start ~40 ms.
      delete fullEnv.NODE_EXTRA_CA_CERTS
    } else {
      port = env.PORT !== undefined ? Number(env.PORT) : await freePort()
      fullEnv = { ...this.baseEnv, ...this.target.env, HOST: '127.0.0.1', PORT: String(port) }
    }
    fullEnv.NODE_OPTIONS = nodeOptions
    fullEnv[MARKER_ENV] = marker
    const server = new ServerProcess(this.target, marker, this.target.argv, fullEnv, this.cwd, this.signal, port, () =>
      this.started.resolve(),
    )
    this.processes.push(server)
    return server
  }

  /** Registers a clean-up step (agents, sockets, temporary files); they run last-registered first. */
  defer(cleanup: () => unknown): void {
    this.cleanups.push(cleanup)
  }

  /** A keep-alive agent, destroyed when the scenario ends. */
  agent(options: http.AgentOptions = {}): http.Agent {
    const agent = new http.Agent({ keepAlive: true, ...options })
    this.defer(() => agent.destroy())
    return agent
  }

  /** A loopback port that something else is listening on, for the port-in-use scenario. */
  async blockPort(): Promise<number> {
    const blocker = net.createServer((socket) => socket.destroy())
    blocker.listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    this.defer(() => new Promise((resolve) => blocker.close(resolve)))
    return (blocker.address() as net.AddressInfo).port
  }

  /** SIGTERM (or `signal`), then the exit within `within` ms with exit code `expect`. */
  async stop(
    server: ServerProcess,
    options: { readonly signal?: NodeJS.Signals; readonly expect?: number; readonly within?: number } = {},
  ): Promise<Exit> {
    const { signal = 'SIGTERM', expect = 0, within = 2_000 } = options
    server.kill(signal)
    const exit = await server.exit(within, `after ${signal}`, ignoresHint(signal))
    expectExitCode(server, exit, expect, `after ${signal}`)
    return exit
  }

  /**
   * Ends the scenario: a process still running gets SIGTERM (SIGKILL if it already had one, or after 1.5 s), every
   * process's exit is checked (no process.exit outside the lifecycle's deadline path), and processes left behind
   * are found by their marker and killed. Returns the problems found, one phrase each.
   */
  async finish(scenarioPassed: boolean): Promise<string[]> {
    this.closed = true
    this.started.resolve()
    const problems: string[] = []
    const killed = new Set<ServerProcess>()
    for (const server of this.processes) {
      if (!server.exitInfo) {
        if (scenarioPassed) problems.push('the server was still running when the scenario ended')
        const signalled = server.lastSignal !== undefined
        if (!signalled) {
          server.kill('SIGTERM')
          await raceTimeout(server.exited, 1_500)
        }
        if (!server.exitInfo) {
          server.kill('SIGKILL')
          killed.add(server)
        }
        await raceTimeout(server.exited, 3_000)
        continue
      }
      const exit = server.exitInfo
      if (exit.how === 'process.exit' && !LIFECYCLE_EXIT.test(exit.exitAt ?? '')) {
        problems.push(
          `it ended through process.exit(${exit.code}) at ${exit.exitAt}, not on its own: a forced exit hides the handles that kept it alive and cuts shutdown short`,
        )
      }
    }
    if (canFindDescendants) {
      for (const server of this.processes) {
        const left = await leftBehind(server)
        if (left.length > 0) {
          problems.push(
            `left ${left.length} process${left.length === 1 ? '' : 'es'} behind after ${killed.has(server) ? 'the runner SIGKILLed it' : 'it exited'}: ` +
              `${left.map((p) => `pid ${p.pid} (${p.command})`).join(', ')} (killed)`,
          )
        }
      }
    }
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup()
      } catch {
        // Clean-up is best effort; what matters was already checked.
      }
    }
    return problems
  }
}

/** Processes with the server's marker still alive after up to 1 s (they may be exiting right now); those are SIGKILLed. */
async function leftBehind(server: ServerProcess): Promise<LeftProcess[]> {
  const skip = new Set<number>(server.olderPids)
  for (const other of running) {
    if (other === server) continue
    skip.add(other.pid)
    for (const worker of other.readyInfo?.workers ?? []) skip.add(worker)
  }
  let left = await findMarked(server.marker, skip)
  const deadline = performance.now() + 1_000
  while (left.length > 0 && performance.now() < deadline) {
    await sleep(25)
    left = left.filter((p) => isAlive(p.pid))
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL')
    } catch {
      // Gone meanwhile.
    }
  }
  const killedBy = performance.now() + 1_000
  while (left.some((p) => isAlive(p.pid)) && performance.now() < killedBy) await sleep(10)
  return left
}

export function ignoresHint(signal: string): string {
  return `: it ignores ${signal}, or something (a server, socket, timer or child) keeps its event loop alive`
}

/** Fails unless the process exited with `expected`. */
export function expectExitCode(server: ServerProcess, exit: Exit, expected: number, when: string): void {
  if (exit.code === expected) return
  fail(`${describeExit(exit)} ${when}, expected exit code ${expected}${lastWords(server)}`)
}

export function describeExit(exit: Exit): string {
  if (exit.spawnError) return `could not be started (${exit.spawnError})`
  if (exit.code === null) return `was killed by ${exit.signal ?? 'a signal'}`
  return `exited with code ${exit.code}`
}

/** `; last line: "…"`, from stderr (stdout when stderr said nothing), or '' when it printed nothing. */
export function lastWords(server: ServerProcess): string {
  const last = server.stderr.last() || server.stdout.last()
  return last ? `; last line: "${last}"` : ''
}

/** Fails unless the outcome is a complete response with `status`. */
export function expectStatus(outcome: Outcome, status: number, what: string): void {
  if (outcome.kind !== 'complete') fail(`${what}: no complete response (${outcome.kind}, ${outcome.code})`)
  if (outcome.status !== status) fail(`${what} answered ${outcome.status}, expected ${status}`)
}

/** Rejects with the signal's reason once it aborts (never resolves). */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason)
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}

/** Milliseconds as `123 ms` or `1.23 s`. */
export function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(2)} s`
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = net.createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Waits for `promise` at most `ms` milliseconds; resolves `undefined` on time-out. Leaves no timer behind. */
export async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

export interface InFlightOptions {
  /** The slow request's own time-out. @default its duration + 5 s */
  readonly timeoutMs?: number
  /** @default 'SIGTERM' */
  readonly signal?: NodeJS.Signals
  /** Resolves once the server holds the request, where the barrier cannot tell (a cluster's primary may not have handed it on). */
  readonly arrived?: () => Promise<void>
}

/**
 * Puts a slow request in flight and signals the server once it is surely being handled: the request was written on
 * an open connection, and a later request on a fresh connection (the barrier) has been answered.
 */
export async function inFlight(
  t: ScenarioContext,
  s: ServerProcess,
  ms: number,
  { timeoutMs = ms + 5_000, signal = 'SIGTERM', arrived }: InFlightOptions = {},
): Promise<{ slow: Promise<Outcome>; signalledAt: number }> {
  const path = t.slowPath(ms)
  if (path === undefined) throw new Error('inFlight() needs a slow path.')
  const sent = deferred()
  const slow = send(s.url(path), { agent: t.agent(), timeoutMs, signal: t.signal, onSent: () => sent.resolve() })
  // If the request fails before it is even written, stop waiting for the write.
  void slow.then(() => sent.resolve())
  await sent.promise
  expectStatus(await send(s.url(t.health), { timeoutMs: 3_000, signal: t.signal }), 200, `GET ${t.health} (barrier)`)
  await arrived?.()
  const early = await raceTimeout(slow, 0)
  if (early) fail(`the slow request ${path} ended before the signal (${early.kind} ${early.status || early.code})`)
  const signalledAt = s.kill(signal)
  if (signal === 'SIGINT') await s.stderr.waitFor(/Received SIGINT; closing gracefully/, 2_000, 'that it received SIGINT', t.signal)
  return { slow, signalledAt }
}
