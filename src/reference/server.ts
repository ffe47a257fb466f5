// The bundled reference server, built only on `leakguard/lifecycle`: three listeners (api, admin, metrics) as one
// group around a database connection, a background loop and a worker child, shut down in the order production needs.

import type { ChildProcess } from 'node:child_process'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import {
  connectWithBackoff,
  createChildRegistry,
  createLifecycle,
  createLifecycleServer,
  createServerGroup,
  DependencyUnavailableError,
  EXIT_FAILURE,
  PortUnavailableError,
  type DrainResult,
  type Lifecycle,
  type LifecycleServer,
  type Logger,
  type RequestContext,
  type ServerGroup,
} from '../lifecycle.js'
import { isClusterWorker } from '../lifecycle/process.js'
import type { ReferenceConfig } from './config.js'
import { openUsersDb, type UsersDb } from './db.js'
import { closeWhenParentGoes, outputsOf, type ReadyAnnouncement, type ReferenceServerOptions } from './outputs.js'
import type { WorkerReply, WorkerRequest } from './worker.js'

export type { ReadyAnnouncement, ReferenceServerOptions } from './outputs.js'

/** A started reference server. The process ends by itself after `lifecycle.close()` (or SIGTERM). */
export interface ReferenceServer {
  readonly lifecycle: Lifecycle
  readonly group: ServerGroup<AppContext, ListenerName>
  readonly ports: ReadyAnnouncement['ports']
}

/** The group's context: one database connection per start, destroyed after every listener has drained. */
export interface AppContext {
  readonly db: UsersDb
  readonly generation: number
  readonly id: string
  destroy(): Promise<void>
}

type ListenerName = 'api' | 'admin' | 'metrics'
const LISTENERS: readonly ListenerName[] = ['api', 'admin', 'metrics']
type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext<AppContext>) => void | Promise<void>

const WORKER_PATH = fileURLToPath(new URL('./worker.js', import.meta.url))
const MAX_SLOW_MS = 600_000
const STREAM_BODY_HALF = 'x'.repeat(1023) + '\n'

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Starts the reference server as a program: installs the signal handlers, spawns the worker, connects the database
 * with backoff, starts the listeners and announces readiness. On a startup failure it sets `process.exitCode`
 * (72 port in use, 70 database unavailable, 1 otherwise), closes what it started and resolves `undefined`.
 *
 * @example
 * await runReferenceServer(readConfig(process.env))
 */
export async function runReferenceServer(
  config: ReferenceConfig,
  options: ReferenceServerOptions = {},
): Promise<ReferenceServer | undefined> {
  const { log, logger, announce } = outputsOf(options)

  const lifecycle = createLifecycle({ logger })
  // In a cluster worker, handleSignals() also closes on the primary's disconnect; the test hook makes one ignore it.
  lifecycle.handleSignals({ timeout: config.shutdownTimeoutMs, disconnect: !config.clusterIgnoreDisconnect })
  if (isClusterWorker()) {
    if (config.clusterIgnoreDisconnect) {
      process.once('disconnect', () => log(`worker ${process.pid} ignores the primary's disconnect (CLUSTER_IGNORE_DISCONNECT=1)`))
    }
  } else {
    closeWhenParentGoes(lifecycle, log)
  }

  // --- the worker child: closed last, after the servers stopped sending it work (none with WORKER_CHILD=0) ---------
  const worker = config.workerChild ? startWorkerChild(config, lifecycle, logger, log) : undefined
  let workerPid = worker?.pid ?? 0
  let jobs = 0
  let jobsDone = 0
  worker?.on('message', (message: WorkerReply) => {
    if (message?.type === 'result') jobsDone += 1
  })

  // --- the listeners and their shared context ---------------------------------------------------------------------
  let generation = 0
  const stats = Object.fromEntries(LISTENERS.map((name) => [name, { accepted: 0, finished: 0, cut: 0 }])) as Record<
    ListenerName,
    { accepted: number; finished: number; cut: number }
  >
  const inFlightOn = (name: ListenerName) => stats[name].accepted - stats[name].finished - stats[name].cut

  async function createContext(): Promise<AppContext> {
    const db = await connectWithBackoff(() => openUsersDb(config.databasePath), {
      attempts: config.dbAttempts,
      baseMs: config.dbRetryBaseMs,
      signal: lifecycle.signal,
      name: `the database (${config.databasePath})`,
      onRetry: ({ attempt, error, delayMs }) =>
        log(`database attempt ${attempt} failed (${messageOf(error)}); retrying in ${delayMs} ms`),
    })
    generation += 1
    const current = generation
    return {
      db,
      generation: current,
      id: contextId(),
      async destroy() {
        await db.close()
        log(`database closed (generation ${current})`)
      },
    }
  }

  let group: ServerGroup<AppContext, ListenerName>
  const healthChecks = {
    database: () => group.context?.db.ping() ?? false,
    // Turns /ready to 503 the moment shutdown begins, while the pre-drain delay still serves requests.
    accepting: () => lifecycle.isOpen(),
  }
  const member = (name: ListenerName, handler: Handler) => (context: () => AppContext): LifecycleServer<AppContext> =>
    createLifecycleServer<AppContext>({
      handler: counted(name, handler),
      port: config.ports[name],
      host: config.host,
      sharedContext: context,
      drainTimeout: config.drainTimeoutMs,
      healthChecks,
      logger,
      serverOptions: {
        keepAliveTimeout: config.keepAliveTimeoutMs,
        headersTimeout: config.headersTimeoutMs,
        // Node enforces headersTimeout only on this interval (30 s by default).
        connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(config.headersTimeoutMs / 4))),
      },
    })

  function counted(name: ListenerName, handler: Handler): Handler {
    const count = stats[name]
    return (req, res, ctx) => {
      count.accepted += 1
      res.once('close', () => (res.writableFinished ? (count.finished += 1) : (count.cut += 1)))
      return handler(req, res, ctx)
    }
  }

  // --- handlers -----------------------------------------------------------------------------------------------------
  const api: Handler = async (req, res, { context, signal }) => {
    const url = new URL(req.url ?? '/', 'http://reference.invalid')
    try {
      if (url.pathname === '/' && req.method === 'GET') {
        return sendJson(res, 200, { service: 'leakguard-reference', pid: process.pid, generation: context.generation, context: context.id })
      }
      if (url.pathname === '/users') {
        if (req.method === 'GET') return sendJson(res, 200, { users: context.db.list() })
        if (req.method === 'POST') {
          const input = parseUser(await readJson(req, config.maxBodyBytes))
          const user = context.db.create(input)
          return sendJson(res, 201, user, { Location: `/users/${user.id}` })
        }
        throw new HttpError(405, 'use GET or POST on /users')
      }
      if (url.pathname === '/slow' && req.method === 'GET') return await slow(url, res, context)
      if (url.pathname === '/stream' && req.method === 'GET') return stream(res, signal, context)
      throw new HttpError(404, `no route for ${req.method} ${url.pathname}`)
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      if (res.headersSent || res.destroyed) return
      // A rejected body may not have been read to its end; do not reuse the connection.
      const close: Record<string, string> = error.status === 413 ? { Connection: 'close' } : {}
      sendJson(res, error.status, { error: error.message }, close)
    }
  }

  async function slow(url: URL, res: ServerResponse, context: AppContext): Promise<void> {
    const raw = url.searchParams.get('ms') ?? '1000'
    if (!/^\d+$/.test(raw) || Number(raw) > MAX_SLOW_MS) throw new HttpError(400, `ms must be an integer from 0 to ${MAX_SLOW_MS}`)
    const ms = Number(raw)
    if (url.searchParams.get('stream') === '1') {
      // Headers and half the body now, the rest later: a response that is mid-body when shutdown begins.
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 * STREAM_BODY_HALF.length })
      res.write(STREAM_BODY_HALF)
      if (await waitUnlessClosed(ms, res)) res.end(STREAM_BODY_HALF)
      return
    }
    // Deliberately not cancelled by the drain: this is work that must finish, which the drain waits for.
    if (!(await waitUnlessClosed(ms, res))) return
    sendJson(res, 200, { sleptMs: ms, users: context.db.count(), generation: context.generation, pid: process.pid })
  }

  function stream(res: ServerResponse, signal: AbortSignal, context: AppContext): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' })
    const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
    res.write(event('hello', { generation: context.generation }))
    let n = 0
    const timer = setInterval(() => res.write(event('tick', { n: ++n, at: new Date().toISOString() })), config.streamIntervalMs)
    const end = () => {
      clearInterval(timer)
      // Aborted by the drain: say goodbye and end cleanly. Aborted because the client left: nothing to write to.
      if (!res.destroyed && !res.writableEnded) res.end(event('bye', { reason: 'server draining' }))
    }
    res.once('close', () => {
      clearInterval(timer)
      signal.removeEventListener('abort', end)
    })
    if (signal.aborted) end()
    else signal.addEventListener('abort', end, { once: true })
  }

  const admin: Handler = (req, res, { context }) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/' && req.method === 'GET') {
      return sendJson(res, 200, {
        pid: process.pid,
        generation: context.generation,
        context: context.id,
        workerPid,
        servers: Object.fromEntries(LISTENERS.map((name) => [name, group.servers[name].state])),
      })
    }
    if (path === '/restart' && req.method === 'POST') {
      // Answer first: the restart drains this very listener, which would otherwise wait for this request.
      res.once('finish', () => void restart())
      return sendJson(res, 202, { restarting: true, generation: context.generation }, { Connection: 'close' })
    }
    if (config.testHooks && req.method === 'POST' && (path === '/debug/uncaught' || path === '/debug/unhandled')) {
      res.once('finish', () => {
        if (path === '/debug/uncaught') {
          setImmediate(() => {
            throw new Error('test hook: uncaught exception (REFERENCE_TEST_HOOKS=1)')
          })
        } else {
          void Promise.reject(new Error('test hook: unhandled rejection (REFERENCE_TEST_HOOKS=1)'))
        }
      })
      return sendJson(res, 202, { triggering: path.slice('/debug/'.length) }, { Connection: 'close' })
    }
    sendJson(res, 404, { error: `no route for ${req.method} ${path}` })
  }

  const metrics: Handler = (req, res, { context }) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics' || req.method !== 'GET') {
      return sendJson(res, 404, { error: 'metrics are at GET /metrics' })
    }
    const lines = [
      '# TYPE reference_http_requests_total counter',
      ...LISTENERS.map((name) => `reference_http_requests_total{listener="${name}"} ${stats[name].accepted}`),
      '# TYPE reference_http_requests_in_flight gauge',
      ...LISTENERS.map((name) => `reference_http_requests_in_flight{listener="${name}"} ${inFlightOn(name)}`),
      '# TYPE reference_users gauge',
      `reference_users ${context.db.ping() ? context.db.count() : 0}`,
      '# TYPE reference_loop_ticks_total counter',
      `reference_loop_ticks_total ${loopTicks}`,
      '# TYPE reference_worker_jobs_total counter',
      `reference_worker_jobs_total{state="sent"} ${jobs}`,
      `reference_worker_jobs_total{state="done"} ${jobsDone}`,
      '# TYPE reference_context_generation gauge',
      `reference_context_generation ${context.generation}`,
      '',
    ]
    const body = lines.join('\n')
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) })
    res.end(body)
  }

  group = createServerGroup<AppContext, ListenerName>(
    { api: member('api', api), admin: member('admin', admin), metrics: member('metrics', metrics) },
    { createContext, logger },
  )

  // --- shutdown order: loop, pre-drain delay, drain + database, worker (closers run last-registered first) ------------
  let started = false
  // Listening, though perhaps not yet ready: a cluster primary announces ready on its workers' listen() calls and sends
  // them connections from then on, so a worker closing before its own start-up finished still drains them, and says so.
  let listening = false
  let restarting: Promise<void> | undefined
  lifecycle.onClose(
    async () => {
      if (restarting) await restarting
      if (!listening) {
        await group.stop() // waits for a start still under way, then stops what it started
        return
      }
      // All three stop accepting at once and drain together; then the database closes, after the last of them.
      const stopping = group.stop()
      log('draining: api, admin and metrics accept no new connections')
      const results = Object.values<DrainResult>(await stopping)
      const interrupted = results.flatMap((result) => result.interrupted)
      const forced = results.reduce((sum, result) => sum + result.forced, 0)
      log(
        `drained in ${Math.max(...results.map((result) => result.durationMs))} ms; ` +
          LISTENERS.map((name) => `${name} accepted ${stats[name].accepted}, finished ${stats[name].finished}, cut ${stats[name].cut}`).join('; ') +
          (forced > 0 ? `; destroyed ${forced} socket(s) at the ${config.drainTimeoutMs} ms drain deadline${interrupted.length > 0 ? `, serving ${interrupted.join(', ')}` : ''}` : ''),
      )
      if (interrupted.length > 0 && !process.exitCode) process.exitCode = EXIT_FAILURE
    },
    { name: 'http servers', timeout: config.drainTimeoutMs + 2_000 },
  )
  lifecycle.onClose(
    async ({ signal }) => {
      if (!started || config.preDrainDelayMs === 0) return
      log(`not ready: /ready answers 503; still serving for ${config.preDrainDelayMs} ms before draining`)
      await sleep(config.preDrainDelayMs, undefined, { signal }).catch(() => {})
    },
    { name: 'pre-drain delay', timeout: config.preDrainDelayMs + 1_000 },
  )
  let loopTicks = 0
  let loopDone: Promise<void> = Promise.resolve()
  lifecycle.onClose(() => loopDone, { name: 'background loop' })

  async function runLoop(): Promise<void> {
    let ticks = 0
    while (lifecycle.isOpen()) {
      ticks += 1
      loopTicks += 1
      if (worker?.connected) {
        const job: WorkerRequest = { type: 'job', id: ++jobs, n: 10_000 }
        worker.send(job, (error) => {
          if (error) log(`could not send a job to the worker: ${error.message}`)
        })
      }
      // Resolves false the moment close begins, so the loop never holds shutdown up for a whole interval.
      if (!(await lifecycle.delay(config.loopIntervalMs))) break
    }
    // With the API's requests in flight at that moment: a loop that stops at once does so before the drain ends them.
    log(`background loop stopped after ${ticks} tick(s); ${inFlightOn('api')} api request(s) in flight`)
  }

  function readyMessage(): ReadyAnnouncement {
    return {
      type: 'leakguard:ready',
      pid: process.pid,
      generation,
      ports: { api: group.servers.api.port, admin: group.servers.admin.port, metrics: group.servers.metrics.port },
      workerPid,
    }
  }

  function restart(): Promise<void> {
    restarting ??= (async () => {
      log('restarting: draining every listener, closing the database, reconnecting')
      try {
        await group.restart()
        if (!lifecycle.isOpen()) return
        log(`restarted on the same ports (generation ${generation})`)
        announce(readyMessage())
      } catch (error) {
        if (!lifecycle.isOpen()) return
        log(`restart failed: ${messageOf(error)}`)
        process.exitCode = exitCodeOf(error)
        void lifecycle.close(error)
      } finally {
        restarting = undefined
      }
    })()
    return restarting
  }

  // --- start ---------------------------------------------------------------------------------------------------------
  try {
    // The worker child and the listeners start side by side: neither start-up waits for the other's (a cluster's
    // respawned worker answers that much sooner). If either fails, the close below stops the other.
    const listen = group.start().then(() => {
      listening = true
    })
    ;[workerPid] = await Promise.all([worker ? waitForWorker(worker, lifecycle.signal, 10_000) : 0, listen])
  } catch (error) {
    // A signal during startup: the close it began stops whatever did start.
    if (!lifecycle.isOpen()) return undefined
    log(`cannot start: ${messageOf(error)}`)
    process.exitCode = exitCodeOf(error)
    await lifecycle.close(error)
    return undefined
  }
  if (!lifecycle.isOpen()) return undefined
  started = true
  loopDone = runLoop()
  const ready = readyMessage()
  log(
    `ready: api http://${config.host}:${ready.ports.api}, admin :${ready.ports.admin}, metrics :${ready.ports.metrics}` +
      ` (database ${config.databasePath}, ${worker ? `worker ${workerPid}` : 'no worker child'})`,
  )
  announce(ready)
  return { lifecycle, group, ports: ready.ports }
}

/**
 * Spawns the worker child through a child registry, and closes the lifecycle if it dies while the server is open.
 * Its closer is registered first, so it runs last: after the listeners drained and stopped sending it jobs.
 */
function startWorkerChild(
  config: ReferenceConfig,
  lifecycle: Lifecycle,
  logger: Logger,
  log: (line: string) => void,
): ChildProcess {
  const children = createChildRegistry({ logger })
  const worker = children.spawn(process.execPath, [WORKER_PATH], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, WORKER_IGNORE_SIGTERM: config.workerIgnoresSigterm ? '1' : '0' },
  })
  const pid = worker.pid ?? 0
  worker.on('error', (error) => log(`worker error: ${error.message}`))
  worker.once('exit', (code, signal) => {
    if (!lifecycle.isOpen()) return
    log(`worker ${pid} exited unexpectedly (${signal ?? `code ${code}`}); shutting down`)
    process.exitCode = EXIT_FAILURE
    void lifecycle.close(new Error('The worker child exited unexpectedly.'))
  })
  lifecycle.onClose(
    async () => {
      const [exit] = await children.closeAll({ timeout: config.childTimeoutMs })
      if (!exit) return
      if (exit.forced) {
        log(`worker ${pid} ignored SIGTERM; SIGKILLed after ${config.childTimeoutMs} ms`)
        if (!process.exitCode) process.exitCode = EXIT_FAILURE
      } else {
        log(`worker ${pid} exited (${exit.signalCode ?? `code ${exit.exitCode}`})`)
      }
    },
    { name: 'worker', timeout: 2 * config.childTimeoutMs + 1_000 },
  )
  return worker
}

function waitForWorker(worker: ChildProcess, signal: AbortSignal, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const done = (error?: Error, pid?: number) => {
      clearTimeout(timer)
      worker.off('message', onMessage)
      worker.off('exit', onExit)
      worker.off('error', onExit)
      signal.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolve(pid!)
    }
    const onMessage = (message: WorkerReply) => {
      if (message?.type === 'worker:ready') done(undefined, message.pid)
    }
    const onExit = () => done(new Error('The worker child exited before it was ready.'))
    const onAbort = () => done(new Error('Shutdown began before the worker was ready.'))
    const timer = setTimeout(() => done(new Error(`The worker child was not ready within ${timeoutMs} ms.`)), timeoutMs)
    worker.on('message', onMessage)
    worker.once('exit', onExit)
    worker.once('error', onExit)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Resolves `true` after `ms`, or `false` as soon as the response closes (client gone, socket destroyed). */
function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const onClose = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      res.off('close', onClose)
      resolve(true)
    }, ms)
    res.once('close', onClose)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type']
  if (type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    return Promise.reject(new HttpError(415, 'send the body as application/json'))
  }
  if (Number(req.headers['content-length']) > limit) {
    return Promise.reject(new HttpError(413, `the body must be at most ${limit} bytes`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        reject(new HttpError(413, `the body must be at most ${limit} bytes`))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      const text = Buffer.concat(chunks).toString('utf8')
      try {
        resolve(JSON.parse(text))
      } catch (error) {
        reject(new HttpError(400, `malformed JSON: ${messageOf(error)}`))
      }
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onClose = () => {
      cleanup()
      reject(new Error('The client went away before sending the whole body.'))
    }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
    req.once('close', onClose)
  })
}

function parseUser(body: unknown): { name: string; email: string | null } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(422, 'send an object such as {"name": "Ada"}')
  const { name, email } = body as { name?: unknown; email?: unknown }
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    throw new HttpError(422, '`name` must be a non-empty string of at most 200 characters')
  }
  if (email !== undefined && email !== null && (typeof email !== 'string' || email.length > 200)) {
    throw new HttpError(422, '`email` must be a string of at most 200 characters, or null')
  }
  return { name: name.trim(), email: (email as string | null | undefined) ?? null }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof PortUnavailableError || error instanceof DependencyUnavailableError) return error.exitCode
  return EXIT_FAILURE
}

/** A context's id in logs and answers: 8 hex digits, new for each context (not a secret: node:crypto is not worth loading). */
function contextId(): string {
  return Math.floor(Math.random() * 2 ** 32)
    .toString(16)
    .padStart(8, '0')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
