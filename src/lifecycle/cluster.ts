// A `node:cluster` primary: forks workers that share the service's ports, respawns one that crashes (with backoff,
// giving up on a crash loop), and on stop asks every worker to disconnect at once, SIGKILLing what outlives the deadline.

import type { Worker } from 'node:cluster'
import { ClusterCrashLoopError, EXIT_FAILURE } from './errors.js'
import { createLog, type LoggerOption } from './logger.js'
import { DISCONNECT_MESSAGE, type Lifecycle } from './process.js'

/** Upper bound of the default worker count: more workers than this rarely pays on one machine. */
const DEFAULT_MAX_WORKERS = 8
const MAX_TIMER_MS = 2 ** 31 - 1

export interface ClusterRespawnOptions {
  /**
   * Delay before respawning after the first crash in the window; it doubles with each further crash.
   *
   * @default 100
   * @example respawn: { baseMs: 250 }
   */
  readonly baseMs?: number
  /**
   * Upper bound of one respawn delay, in milliseconds.
   *
   * @default 5_000
   * @example respawn: { maxMs: 30_000 }
   */
  readonly maxMs?: number
  /**
   * How many crashes within `windowMs` make the primary give up (a crash loop): it logs why, sets
   * `process.exitCode = 1` and stops the remaining workers instead of forking again.
   *
   * @default 5
   * @example respawn: { maxCrashes: 10 }
   */
  readonly maxCrashes?: number
  /**
   * The window crashes are counted in, in milliseconds.
   *
   * @default 30_000
   * @example respawn: { windowMs: 60_000 }
   */
  readonly windowMs?: number
}

export interface ClusterPrimaryOptions {
  /**
   * How many workers to fork.
   *
   * @default os.availableParallelism(), at most 8
   * @example createClusterPrimary({ workers: Number(process.env.WORKERS ?? 2) })
   */
  readonly workers?: number
  /**
   * How many `listen()` calls make a worker ready (one per server it starts). `start()` resolves once every
   * worker has made this many.
   *
   * @default 1
   * @example createClusterPrimary({ listeners: 3 }) // api, admin and metrics servers in each worker
   */
  readonly listeners?: number
  /**
   * How long workers get, from the disconnect, to finish their own graceful shutdown; the ones still running then
   * are sent SIGKILL. Keep it above the workers' own shutdown deadline, and below the primary's.
   *
   * @default 10_000
   * @example createClusterPrimary({ timeout: 20_000 })
   */
  readonly timeout?: number
  /**
   * Extra environment for each worker (added to the primary's), or a function of the worker's slot (0 to
   * `workers - 1`) returning it; called at every fork, so a respawned worker can be given what its slot needs.
   *
   * @default undefined
   * @example env: (slot) => ({ PORT: String(port), WORKER_SLOT: String(slot) })
   */
  readonly env?: Readonly<Record<string, string>> | ((slot: number) => Readonly<Record<string, string>>)
  /**
   * Respawning a worker that exited while the cluster is open: backoff and the crash-loop limit.
   *
   * @default { baseMs: 100, maxMs: 5_000, maxCrashes: 5, windowMs: 30_000 }
   * @example respawn: { maxCrashes: 3, windowMs: 10_000 }
   */
  readonly respawn?: ClusterRespawnOptions
  /**
   * A process lifecycle to join: `stop()` is registered as one of its closers (named `cluster workers`), and a
   * crash loop closes it. Give its `handleSignals({ timeout })` a deadline above this `timeout`.
   *
   * @default undefined (call `stop()` yourself)
   * @example createClusterPrimary({ lifecycle })
   */
  readonly lifecycle?: Lifecycle
  /**
   * Where crashes, respawns, the disconnect and SIGKILLs are reported. `false` prints nothing.
   *
   * @default console (every level on stderr)
   * @example createClusterPrimary({ logger: false })
   */
  readonly logger?: LoggerOption
}

/** A worker that is listening, as `start()` reports it. */
export interface ClusterWorkerInfo {
  readonly pid: number
  /** Its place, 0 to `workers - 1`; a respawned worker takes the slot of the one it replaces. */
  readonly slot: number
  /** Where it listens, in the order of its `listen()` calls. Workers share these ports. */
  readonly addresses: readonly { readonly address: string; readonly port: number }[]
}

/** How one worker ended. Judged by `exitCode` / `signalCode`; `exitedAfterDisconnect` says it was asked to go. */
export interface ClusterWorkerExit {
  readonly pid: number
  readonly slot: number
  readonly exitCode: number | null
  readonly signalCode: NodeJS.Signals | null
  /** `true` when it exited after a disconnect (asked by the primary, or its own), not by a crash. */
  readonly exitedAfterDisconnect: boolean
  /** `true` when it was still running at the deadline and had to be sent SIGKILL. */
  readonly forced: boolean
}

/** What `stop()` resolves to. */
export interface ClusterStopResult {
  /** 0 when every worker exited by itself with code 0; 1 otherwise (also set as `process.exitCode`). */
  readonly exitCode: 0 | 1
  /** Every worker that was alive when the stop began. */
  readonly workers: readonly ClusterWorkerExit[]
  /** Pids of the workers sent SIGKILL at the deadline. */
  readonly killed: readonly number[]
  readonly durationMs: number
}

export interface ClusterPrimary {
  /**
   * Forks the workers; resolves once each is listening (`listeners` times). A worker that crashes meanwhile is
   * respawned like later ones; a crash loop rejects with a {@link ClusterCrashLoopError}. Rejects when called twice.
   */
  start(): Promise<readonly ClusterWorkerInfo[]>
  /**
   * Stops forking, cancels pending respawns, asks every worker to disconnect at once (`cluster.disconnect()`),
   * waits for them, SIGKILLs the ones still running at `timeout` and names them. Idempotent; never rejects.
   */
  stop(): Promise<ClusterStopResult>
  /** Pids of the workers alive now. */
  readonly pids: readonly number[]
}

interface Entry {
  readonly worker: Worker
  readonly pid: number
  readonly slot: number
  readonly addresses: { address: string; port: number }[]
  readonly exited: Promise<ClusterWorkerExit>
  readonly replaces: number | undefined
  forced: boolean
}

/**
 * Creates the primary of a cluster. Nothing is forked until `start()`. Must run where `cluster.isPrimary` is true;
 * each worker runs your ordinary server, with `lifecycle.handleSignals()` so the primary's disconnect closes it.
 *
 * @example
 * if (cluster.isPrimary) {
 *   const lifecycle = createLifecycle()
 *   lifecycle.handleSignals({ timeout: 15_000 })
 *   await createClusterPrimary({ workers: 4, timeout: 12_000, lifecycle }).start()
 * } else {
 *   await startServer() // createLifecycle() + handleSignals() + createLifecycleServer(), as without a cluster
 * }
 */
export function createClusterPrimary(options: ClusterPrimaryOptions = {}): ClusterPrimary {
  if (options === null || typeof options !== 'object') throw new TypeError('`options` must be an object.')
  // Loaded here, not with the module: a service that imports leakguard/lifecycle without a cluster does not pay for
  // node:cluster (nor for the child_process and net it loads).
  // (getBuiltinModule returns the module's exports: the cluster object itself, which the types call its default.)
  const cluster = process.getBuiltinModule('node:cluster') as unknown as typeof import('node:cluster').default
  if (!cluster.isPrimary) {
    throw new Error('`createClusterPrimary()` must run in the primary process (`cluster.isPrimary`); a worker starts its server instead.')
  }
  const count = integer('workers', options.workers, Math.min(process.getBuiltinModule('node:os').availableParallelism(), DEFAULT_MAX_WORKERS), 1, 1_024)
  const listeners = integer('listeners', options.listeners, 1, 1, 1_000)
  const timeout = integer('timeout', options.timeout, 10_000, 0, MAX_TIMER_MS)
  const respawn = options.respawn ?? {}
  if (respawn === null || typeof respawn !== 'object') throw new TypeError('`respawn` must be an object such as `{ maxCrashes: 5 }`.')
  const baseMs = integer('respawn.baseMs', respawn.baseMs, 100, 0, MAX_TIMER_MS)
  const maxMs = integer('respawn.maxMs', respawn.maxMs, 5_000, 0, MAX_TIMER_MS)
  const maxCrashes = integer('respawn.maxCrashes', respawn.maxCrashes, 5, 1, 1_000)
  const windowMs = integer('respawn.windowMs', respawn.windowMs, 30_000, 1, MAX_TIMER_MS)
  const { env, lifecycle } = options
  if (env !== undefined && typeof env !== 'function' && (env === null || typeof env !== 'object')) {
    throw new TypeError('`env` must be an object of variables, or a function `(slot) => variables`.')
  }
  const log = createLog(options.logger)

  let state: 'idle' | 'open' | 'stopping' = 'idle'
  const live = new Map<Worker, Entry>()
  /** The worker serving each slot and whether it is ready (listening `listeners` times). */
  const ready = new Set<number>()
  const crashes: number[] = []
  const respawnTimers = new Set<NodeJS.Timeout>()
  let startWaiter: { resolve: (workers: readonly ClusterWorkerInfo[]) => void; reject: (error: Error) => void } | undefined
  let stopPromise: Promise<ClusterStopResult> | undefined

  // 'exit' listeners run inside process.exit() (a second Ctrl-C, the hard deadline): nothing asynchronous can
  // happen any more, so SIGKILL is the only way to leave no worker behind. Installed only while one is alive.
  const killOnExit = () => {
    for (const entry of live.values()) signal(entry, 'SIGKILL')
  }

  function fork(slot: number, replaces?: number): void {
    const extra = typeof env === 'function' ? env(slot) : env
    const worker = cluster.fork(extra ? { ...extra } : undefined)
    const pid = worker.process.pid ?? -1
    let resolveExit!: (exit: ClusterWorkerExit) => void
    const entry: Entry = {
      worker,
      pid,
      slot,
      addresses: [],
      exited: new Promise<ClusterWorkerExit>((resolve) => (resolveExit = resolve)),
      replaces,
      forced: false,
    }
    if (live.size === 0) process.on('exit', killOnExit)
    live.set(worker, entry)
    // A failed IPC send to a dying worker is reported here; without a listener it would throw in the primary.
    worker.on('error', (error) => log.warn(`Worker ${pid}: ${error.message}`))
    worker.on('listening', (address) => {
      entry.addresses.push({ address: address.address ?? '', port: address.port })
      if (entry.addresses.length !== listeners || state !== 'open') return
      ready.add(slot)
      if (replaces !== undefined) log.info(`Worker ${pid} is listening (slot ${slot}, replacing ${replaces}).`)
      if (startWaiter && ready.size === count) {
        startWaiter.resolve(readyWorkers())
        startWaiter = undefined
      }
    })
    // Read from the process: `exitCode` / `signalCode`, never `killed` (which only says a signal was sent).
    worker.process.once('exit', () => {
      live.delete(worker)
      if (live.size === 0) process.off('exit', killOnExit)
      const exit: ClusterWorkerExit = {
        pid,
        slot,
        exitCode: worker.process.exitCode,
        signalCode: worker.process.signalCode as NodeJS.Signals | null,
        exitedAfterDisconnect: worker.exitedAfterDisconnect === true,
        forced: entry.forced,
      }
      resolveExit(exit)
      if (state === 'open') onUnexpectedExit(entry, exit)
    })
  }

  function readyWorkers(): ClusterWorkerInfo[] {
    return [...live.values()]
      .filter((entry) => entry.addresses.length >= listeners)
      .sort((a, b) => a.slot - b.slot)
      .map(({ pid, slot, addresses }) => ({ pid, slot, addresses: addresses.map((a) => ({ ...a })) }))
  }

  function onUnexpectedExit(entry: Entry, exit: ClusterWorkerExit): void {
    const wasReady = entry.addresses.length >= listeners
    ready.delete(entry.slot)
    const now = Date.now()
    crashes.push(now)
    while (crashes.length > 0 && crashes[0]! <= now - windowMs) crashes.shift()
    const how = `${exit.signalCode ?? `code ${exit.exitCode}`}${wasReady ? '' : ', before it was listening'}`
    if (crashes.length >= maxCrashes) {
      giveUp(new ClusterCrashLoopError(crashes.length, windowMs, entry.pid, how))
      return
    }
    const delayMs = Math.min(maxMs, baseMs * 2 ** (crashes.length - 1))
    log.error(`Worker ${entry.pid} (slot ${entry.slot}) exited unexpectedly (${how}); respawning in ${delayMs} ms.`)
    const timer = setTimeout(() => {
      respawnTimers.delete(timer)
      if (state === 'open') fork(entry.slot, entry.pid)
    }, delayMs)
    respawnTimers.add(timer)
  }

  function giveUp(error: ClusterCrashLoopError): void {
    log.error(error.message)
    process.exitCode = EXIT_FAILURE
    startWaiter?.reject(error)
    startWaiter = undefined
    if (lifecycle) void lifecycle.close(error)
    else void stop()
  }

  function signal(entry: Entry, name: NodeJS.Signals): void {
    try {
      process.kill(entry.pid, name)
    } catch {
      // ESRCH: it is gone already, which is what we wanted.
    }
  }

  function stop(): Promise<ClusterStopResult> {
    stopPromise ??= (async () => {
      const began = Date.now()
      state = 'stopping'
      for (const timer of respawnTimers) clearTimeout(timer)
      respawnTimers.clear()
      startWaiter?.reject(new Error('The cluster was stopped before every worker was listening.'))
      startWaiter = undefined
      const entries = [...live.values()]
      if (entries.length > 0) {
        // Our message first, on the same channel: the worker's lifecycle starts its drain (Connection: close on
        // requests in flight) before Node's own disconnect handling closes its listeners.
        for (const { worker } of entries) {
          if (worker.isConnected()) worker.send({ type: DISCONNECT_MESSAGE }, () => {})
        }
        cluster.disconnect()
        log.info(`Asked ${entries.length} worker(s) to disconnect (${entries.map((e) => e.pid).join(', ')}); SIGKILL after ${timeout} ms.`)
      }
      let timer: NodeJS.Timeout | undefined
      const all = Promise.all(entries.map((entry) => entry.exited))
      const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), timeout)))
      const killed: number[] = []
      try {
        if ((await Promise.race([all, deadline])) === 'deadline') {
          for (const entry of live.values()) {
            entry.forced = true
            killed.push(entry.pid)
            signal(entry, 'SIGKILL')
          }
          if (killed.length > 0) {
            log.error(`Worker(s) ${killed.join(', ')} still running ${timeout} ms after the disconnect; sent SIGKILL.`)
          }
        }
      } finally {
        clearTimeout(timer)
      }
      const workers = await all
      const clean = workers.every((exit) => exit.exitCode === 0 && exit.signalCode === null && !exit.forced)
      if (!clean) process.exitCode = EXIT_FAILURE
      return { exitCode: clean ? 0 : 1, workers, killed, durationMs: Date.now() - began }
    })()
    return stopPromise
  }

  if (lifecycle) lifecycle.onClose(() => stop(), { name: 'cluster workers', timeout: timeout + 2_000 })

  return {
    start() {
      if (state !== 'idle') return Promise.reject(new Error('The cluster primary was already started; `start()` runs once.'))
      state = 'open'
      const started = new Promise<readonly ClusterWorkerInfo[]>((resolve, reject) => (startWaiter = { resolve, reject }))
      for (let slot = 0; slot < count; slot++) fork(slot)
      return started
    },
    stop,
    get pids() {
      return [...live.values()].map((entry) => entry.pid)
    },
  }
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`\`${name}\` must be an integer from ${min} to ${max}, got ${String(value)}.`)
  }
  return value
}
