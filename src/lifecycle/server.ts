// An HTTP server with a lifecycle: start when listening, drain without dropping requests, stop when every
// socket is closed, restart on the same port with a fresh context, and /health + /ready built in.

import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { PortUnavailableError } from './errors.js'
import { createLog, describeError, type LoggerOption } from './logger.js'
import { isClusterWorker } from './process.js'

/** Where a lifecycle server is. `idle` until the first `start()`; `stopped` after `stop()` or a failed start. */
export type LifecycleState = 'idle' | 'starting' | 'ready' | 'draining' | 'stopping' | 'stopped'

/** The third argument of every request handler call. */
export interface RequestContext<C> {
  /** The context of the current generation: what `createContext()` returned for this start. */
  readonly context: C
  /**
   * Aborts when the server starts draining, or when the client goes away before the response ended.
   * Pass it to anything slow (`fetch(url, { signal })`) so shutdown does not wait on it.
   */
  readonly signal: AbortSignal
}

/** Handles every request except the built-in health paths. May be async; a throw or rejection becomes a 500. */
export type RequestHandler<C> = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext<C>,
) => unknown

/** A readiness check: resolve `true` when the dependency is usable. A throw, `false` or a timeout means not ready. */
export type HealthCheck = () => boolean | Promise<boolean>

/** What `drain()` and `stop()` resolve to. */
export interface DrainResult {
  /** Sockets still open at `drainTimeout`, destroyed by force. 0 for a clean drain. */
  readonly forced: number
  /** The requests those sockets were serving, as `METHOD url` (e.g. `GET /report`). */
  readonly interrupted: readonly string[]
  /** `true` when the drain hit `drainTimeout`. */
  readonly timedOut: boolean
  /** How long the drain took, in milliseconds. */
  readonly durationMs: number
}

export interface LifecycleServerOptions<C = undefined> {
  /**
   * Your request handler. It receives `ctx.context` (the current context) and `ctx.signal`.
   *
   * @example
   * handler: async (req, res, { context, signal }) => {
   *   const rows = await context.db.query('select 1', { signal })
   *   res.end(JSON.stringify(rows))
   * }
   */
  readonly handler: RequestHandler<NoInfer<C>>
  /**
   * Port to listen on. `0` lets the system pick a free one; read it back from `server.port`.
   * `restart()` reuses the port the server had, even when this is `0`.
   *
   * @default 0
   * @example port: Number(process.env.PORT ?? 3000)
   */
  readonly port?: number
  /**
   * Address to bind. The default listens on loopback only; pass `'0.0.0.0'` or `'::'` to accept outside traffic.
   *
   * @default '127.0.0.1'
   * @example host: '0.0.0.0'
   */
  readonly host?: string
  /**
   * Builds the context on every start (the first one and each restart). If the result has a `destroy()` method,
   * `stop()` calls it after the last socket closed, and before a restart creates the next context.
   *
   * @default undefined (the context is `undefined`)
   * @example
   * createContext: async () => {
   *   const db = await openDb()
   *   return { db, destroy: () => db.close() }
   * }
   */
  readonly createContext?: () => C | Promise<C>
  /**
   * Borrows a context owned by someone else instead of creating one: called on every start, and the server
   * never calls its `destroy()`. This is how the members of a server group share the group's context.
   * Cannot be combined with `createContext`.
   *
   * @default undefined
   * @example
   * createServerGroup({ api: (context) => createLifecycleServer({ handler, sharedContext: context }) },
   *   { createContext })
   */
  readonly sharedContext?: () => C
  /**
   * How long a drain waits for in-flight requests, in milliseconds, before destroying their sockets.
   * Keep it below your orchestrator's kill grace period (Kubernetes: 30 s).
   *
   * @default 10_000
   * @example drainTimeout: 25_000
   */
  readonly drainTimeout?: number
  /**
   * Readiness checks run by the ready path. Each check has `checkTimeout` milliseconds to resolve `true`.
   *
   * @default {}
   * @example healthChecks: { database: async () => (await db.query('select 1')).rowCount === 1 }
   */
  readonly healthChecks?: Readonly<Record<string, HealthCheck>>
  /**
   * Time limit for each health check, in milliseconds. A check that takes longer counts as failed.
   *
   * @default 2_000
   * @example checkTimeout: 500
   */
  readonly checkTimeout?: number
  /**
   * Liveness path: answers 200 with `{ status, state, checks, uptime }` whenever the process can answer at all
   * (`uptime` is seconds since the last start). It runs no checks, so a database outage does not get a healthy
   * process restarted. Only GET and HEAD are answered; other methods reach the handler. `false` disables it.
   *
   * @default '/health'
   * @example healthPath: '/livez'
   */
  readonly healthPath?: string | false
  /**
   * Readiness path: 200 when the server is `ready` and every health check passes, 503 otherwise
   * (starting, draining, or a check failed). `false` disables it.
   *
   * @default '/ready'
   * @example readyPath: '/readyz'
   */
  readonly readyPath?: string | false
  /**
   * Options for Node's `http.createServer()`, such as `headersTimeout`, `requestTimeout`, `keepAliveTimeout` and
   * `connectionsCheckingInterval` (how often Node enforces the first two: every 30 s unless set, so a short
   * `headersTimeout` only bites once this is short too). Applied once, when the server is created; they hold across
   * restarts.
   *
   * @default {} (Node's defaults)
   * @example
   * serverOptions: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000, keepAliveTimeout: 5_000 }
   */
  readonly serverOptions?: Readonly<ServerOptions>
  /**
   * Where handler errors and failed context destroys are reported. `false` prints nothing.
   *
   * @default console (every level on stderr)
   * @example logger: { error: (msg) => log.error(msg) }
   */
  readonly logger?: LoggerOption
}

/** A started-or-not HTTP server with `start`, `stop`, `restart` and `drain`. */
export interface LifecycleServer<C = undefined> {
  /** Creates the context, then listens. Resolves once listening; rejects when already started. */
  start(): Promise<void>
  /** Drains, then destroys the context. Idempotent; concurrent calls share one promise. */
  stop(): Promise<DrainResult>
  /** Stops, then starts again on the same port with a context created after the old one was destroyed. */
  restart(): Promise<void>
  /** Stops accepting connections and waits for in-flight requests (at most `drainTimeout`). Keeps the context. */
  drain(): Promise<DrainResult>
  readonly state: LifecycleState
  /** The bound port while listening; the last bound port after a stop; the `port` option before any start. */
  readonly port: number
  /** `http://host:port`, built from the `host` option and {@link LifecycleServer.port}. */
  readonly url: string
  /**
   * The underlying `http.Server`, the same object across restarts: attach `upgrade` listeners here (Node's timeouts
   * are best set with the `serverOptions` option). Do not add `request` listeners; requests go to `handler`.
   */
  readonly server: Server
  /** The current context, `undefined` when not started. */
  readonly context: C | undefined
}

/** @internal What a server group needs beyond the public surface. */
export interface ServerInternals {
  /** Starts on the port the server last had (the configured one if it never listened). */
  startOnLastPort(): Promise<void>
}

/** @internal */
export const serverInternals = new WeakMap<LifecycleServer<any>, ServerInternals>()

interface Flight {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly controller: AbortController
}

const EMPTY_RESULT: DrainResult = Object.freeze({ forced: 0, interrupted: Object.freeze([]), timedOut: false, durationMs: 0 })

/**
 * Creates an HTTP server with a lifecycle. Nothing listens until `start()`.
 *
 * @example
 * const app = createLifecycleServer({
 *   port: 3000,
 *   createContext: async () => ({ db: await openDb(), destroy() { return this.db.close() } }),
 *   handler: async (req, res, { context }) => res.end(await context.db.version()),
 * })
 * await app.start()
 * // … later, on SIGTERM:
 * await app.stop()
 */
export function createLifecycleServer<C = undefined>(options: LifecycleServerOptions<C>): LifecycleServer<C> {
  if (options === null || typeof options !== 'object') throw new TypeError('`options` must be an object.')
  const { handler, createContext, sharedContext } = options
  if (typeof handler !== 'function') throw new TypeError('`handler` must be a function `(req, res, ctx) => …`.')
  if (createContext !== undefined && typeof createContext !== 'function') {
    throw new TypeError('`createContext` must be a function.')
  }
  if (sharedContext !== undefined && typeof sharedContext !== 'function') {
    throw new TypeError('`sharedContext` must be a function.')
  }
  if (createContext && sharedContext) {
    throw new TypeError('Pass either `createContext` (owned) or `sharedContext` (borrowed), not both.')
  }
  const configuredPort = options.port ?? 0
  if (!Number.isInteger(configuredPort) || configuredPort < 0 || configuredPort > 65535) {
    throw new RangeError(`\`port\` must be an integer from 0 to 65535, got ${String(options.port)}.`)
  }
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '') throw new TypeError('`host` must be a non-empty string.')
  const drainTimeout = checkDuration('drainTimeout', options.drainTimeout, 10_000)
  const checkTimeout = checkDuration('checkTimeout', options.checkTimeout, 2_000)
  const healthChecks = options.healthChecks ?? {}
  for (const [name, check] of Object.entries(healthChecks)) {
    if (typeof check !== 'function') throw new TypeError(`\`healthChecks.${name}\` must be a function.`)
  }
  const serverOptions = options.serverOptions ?? {}
  if (serverOptions === null || typeof serverOptions !== 'object') {
    throw new TypeError('`serverOptions` must be an object of `http.createServer()` options, such as `{ headersTimeout: 10_000 }`.')
  }
  const healthPath = checkPath('healthPath', options.healthPath, '/health')
  const readyPath = checkPath('readyPath', options.readyPath, '/ready')
  const log = createLog(options.logger)

  let state: LifecycleState = 'idle'
  let context: C | undefined
  let boundPort: number | undefined
  let readySince = 0
  let startPromise: Promise<void> | undefined
  let drainPromise: Promise<DrainResult> | undefined
  let stopPromise: Promise<DrainResult> | undefined
  let restartPromise: Promise<void> | undefined

  // Our own bookkeeping, so a drain knows which sockets are idle without relying on Node internals.
  const sockets = new Map<Socket, number>()
  const flights = new Set<Flight>()

  const server = createServer({ ...serverOptions })

  // Errors during start() reject start(); later ones (accept failures such as EMFILE) must not crash the process.
  server.on('error', (error) => {
    if (state !== 'starting') log.error(`The HTTP server emitted an error: ${describeError(error)}`)
  })

  server.on('connection', (socket: Socket) => {
    sockets.set(socket, 0)
    socket.once('close', () => sockets.delete(socket))
    // A connection handed over after the drain began (a proxy calling server.emit('connection')) must not linger.
    if (state === 'draining' || state === 'stopping') socket.destroy()
  })

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket
    const controller = new AbortController()
    const flight: Flight = { req, res, controller }
    flights.add(flight)
    sockets.set(socket, (sockets.get(socket) ?? 0) + 1)

    res.once('close', () => {
      flights.delete(flight)
      if (!res.writableFinished && !controller.signal.aborted) {
        controller.abort(abortReason('The client closed the connection before the response ended.'))
      }
      const left = (sockets.get(socket) ?? 1) - 1
      if (sockets.has(socket)) sockets.set(socket, left)
      // Node closes the socket itself when the response said `Connection: close`; this covers responses whose
      // headers were already sent as keep-alive when the drain began.
      if (left === 0 && (state === 'draining' || state === 'stopping')) endSocket(socket)
    })

    if (state === 'draining' || state === 'stopping') {
      controller.abort(abortReason('The server is draining.'))
      res.shouldKeepAlive = false
      res.setHeader('Connection', 'close')
    }
    serve(req, res, controller.signal).catch((error: unknown) => {
      log.error(`Answering ${req.method ?? 'GET'} ${req.url ?? ''} failed: ${describeError(error)}`)
      if (!res.destroyed) res.destroy()
    })
  })

  async function serve(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const method = req.method ?? 'GET'
    if (method === 'GET' || method === 'HEAD') {
      const path = pathOf(req.url)
      if (healthPath !== false && path === healthPath) return sendHealth(res, method)
      if (readyPath !== false && path === readyPath) return sendReady(res, method)
    }
    if (state !== 'ready') {
      // Only a request already parsed on a kept-open socket can land here; tell the client to go elsewhere.
      res.statusCode = 503
      res.setHeader('Retry-After', '1')
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end('The server is shutting down.\n')
      return
    }
    try {
      await handler(req, res, { context: context as C, signal })
    } catch (error) {
      log.error(`The request handler failed for ${method} ${req.url ?? ''}: ${describeError(error)}`)
      if (!res.headersSent && !res.destroyed) {
        res.statusCode = 500
        res.setHeader('Content-Type', 'text/plain; charset=utf-8')
        res.end('Internal Server Error\n')
      } else if (!res.writableEnded) {
        res.destroy()
      }
    }
  }

  function sendJson(res: ServerResponse, method: string, status: number, body: unknown): void {
    const text = JSON.stringify(body)
    res.statusCode = status
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Content-Length', Buffer.byteLength(text))
    res.end(method === 'HEAD' ? undefined : text)
  }

  function uptime(): number {
    return state === 'ready' || state === 'draining' ? Math.round((Date.now() - readySince) / 10) / 100 : 0
  }

  function sendHealth(res: ServerResponse, method: string): void {
    sendJson(res, method, 200, { status: 'ok', state, checks: {}, uptime: uptime() })
  }

  async function sendReady(res: ServerResponse, method: string): Promise<void> {
    if (state !== 'ready') {
      sendJson(res, method, 503, { status: 'not ready', state, checks: {}, uptime: uptime() })
      return
    }
    const names = Object.keys(healthChecks)
    const results = await Promise.all(names.map((name) => runCheck(name, healthChecks[name]!)))
    const checks: Record<string, boolean> = {}
    names.forEach((name, i) => (checks[name] = results[i]!))
    const ok = state === 'ready' && results.every(Boolean)
    if (res.destroyed) return
    sendJson(res, method, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', state, checks, uptime: uptime() })
  }

  async function runCheck(name: string, check: HealthCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => {
        log.warn(`Health check \`${name}\` did not answer within ${checkTimeout} ms; reporting it as failing.`)
        resolve(false)
      }, checkTimeout)
    })
    try {
      const passed = Promise.resolve()
        .then(check)
        .then((value) => value === true)
      return await Promise.race([passed, timeout])
    } catch (error) {
      log.warn(`Health check \`${name}\` threw: ${describeError(error)}`)
      return false
    } finally {
      clearTimeout(timer)
    }
  }

  async function resolveContext(): Promise<C | undefined> {
    if (createContext) return await createContext()
    if (sharedContext) return sharedContext()
    return undefined
  }

  async function destroyContext(): Promise<void> {
    const current = context
    context = undefined
    if (!createContext || current === undefined || current === null) return
    const destroy = (current as { destroy?: unknown }).destroy
    if (typeof destroy === 'function') await destroy.call(current)
  }

  function listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Our own once-listeners: listen(cb) would leave its callback behind after an error.
      const settle = () => {
        server.off('error', onError)
        server.off('listening', onListening)
        process.off('disconnect', onPrimaryGone)
      }
      const onError = (error: NodeJS.ErrnoException) => {
        settle()
        reject(error)
      }
      const onListening = () => {
        settle()
        resolve()
      }
      // In a cluster worker, listen() asks the primary for the port and waits for its answer. A primary that
      // disconnects this worker first never answers, so without this the start (and a stop awaiting it) would hang.
      const onPrimaryGone = () => {
        settle()
        reject(new Error('The cluster primary disconnected this worker before its server was listening.'))
      }
      server.once('error', onError)
      server.once('listening', onListening)
      if (isClusterWorker()) {
        if (!process.connected) return onPrimaryGone()
        process.once('disconnect', onPrimaryGone)
      }
      server.listen(port, host)
    })
  }

  async function startOn(port: number): Promise<void> {
    if (state === 'draining' || state === 'stopping') {
      throw new Error(`The server is still ${state}; await \`stop()\` before calling \`start()\`, or use \`restart()\`.`)
    }
    if (state !== 'idle' && state !== 'stopped') {
      throw new Error(`The server is already ${state}; call \`stop()\` before \`start()\`, or use \`restart()\`.`)
    }
    state = 'starting'
    drainPromise = undefined
    stopPromise = undefined
    const run = (async () => {
      try {
        context = await resolveContext()
      } catch (error) {
        context = undefined
        state = 'stopped'
        throw error
      }
      try {
        await listen(port)
      } catch (error) {
        if (server.listening) server.close()
        try {
          await destroyContext()
        } catch (destroyError) {
          log.error(`Destroying the context after a failed start failed too: ${describeError(destroyError)}`)
        }
        state = 'stopped'
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new PortUnavailableError(port, host, error as NodeJS.ErrnoException)
        }
        throw error
      }
      const address = server.address()
      boundPort = typeof address === 'object' && address ? address.port : port
      readySince = Date.now()
      state = 'ready'
    })()
    startPromise = run
    try {
      await run
    } finally {
      if (startPromise === run) startPromise = undefined
    }
  }

  function drain(): Promise<DrainResult> {
    if (drainPromise) return drainPromise
    if (state === 'idle' || state === 'stopped') return Promise.resolve(EMPTY_RESULT)
    drainPromise = (async () => {
      if (startPromise) await startPromise.catch(() => {})
      if (state !== 'ready') return EMPTY_RESULT
      return runDrain()
    })()
    return drainPromise
  }

  function runDrain(): Promise<DrainResult> {
    state = 'draining'
    const began = Date.now()
    return new Promise<DrainResult>((resolve) => {
      let forced = 0
      let interrupted: string[] = []
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        interrupted = [...flights].map(({ req }) => `${req.method ?? 'GET'} ${req.url ?? ''}`)
        forced = sockets.size
        if (forced > 0) {
          log.warn(
            `Drain timed out after ${drainTimeout} ms; destroying ${forced} socket(s)` +
              (interrupted.length > 0 ? ` serving ${interrupted.join(', ')}.` : '.'),
          )
        }
        for (const socket of sockets.keys()) socket.destroy()
      }, drainTimeout)

      // The server's 'close' event waits for every connection, so it marks the end of the drain.
      server.close(() => {
        clearTimeout(timer)
        resolve({ forced, interrupted, timedOut, durationMs: Date.now() - began })
      })

      for (const flight of flights) {
        if (!flight.res.headersSent) {
          flight.res.shouldKeepAlive = false
          flight.res.setHeader('Connection', 'close')
        }
        flight.controller.abort(abortReason('The server is draining.'))
      }
      for (const [socket, inFlight] of sockets) {
        if (inFlight === 0) socket.destroy()
      }
    })
  }

  function stop(): Promise<DrainResult> {
    // A stop that lands in the middle of a restart must stop the restarted server, not the old one.
    if (restartPromise) return restartPromise.catch(() => {}).then(stop)
    return stopNow()
  }

  function stopNow(): Promise<DrainResult> {
    if (stopPromise) return stopPromise
    if (state === 'idle' || state === 'stopped') return Promise.resolve(EMPTY_RESULT)
    stopPromise = (async () => {
      if (startPromise) await startPromise.catch(() => {})
      if ((state as LifecycleState) === 'stopped') return EMPTY_RESULT
      const result = await drain()
      state = 'stopping'
      try {
        await destroyContext()
      } finally {
        state = 'stopped'
      }
      return result
    })()
    return stopPromise
  }

  async function startOnLastPort(): Promise<void> {
    await startOn(boundPort ?? configuredPort)
  }

  function restart(): Promise<void> {
    restartPromise ??= (async () => {
      try {
        if (startPromise) await startPromise.catch(() => {})
        await stopNow()
        await startOnLastPort()
      } finally {
        restartPromise = undefined
      }
    })()
    return restartPromise
  }

  const lifecycleServer: LifecycleServer<C> = {
    start: () => startOn(configuredPort),
    stop,
    restart,
    drain,
    get state() {
      return state
    },
    get port() {
      return boundPort ?? configuredPort
    },
    get url() {
      return `http://${host.includes(':') ? `[${host}]` : host}:${boundPort ?? configuredPort}`
    },
    server,
    get context() {
      return context
    },
  }
  serverInternals.set(lifecycleServer, { startOnLastPort })
  return lifecycleServer
}

/** Ends our side, then destroys once the end is flushed: what Node's `destroySoon()` does, without the internal. */
function endSocket(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.writableFinished) {
    socket.destroy()
    return
  }
  socket.once('finish', () => socket.destroy())
  if (!socket.writableEnded) socket.end()
}

function abortReason(message: string): DOMException {
  return new DOMException(message, 'AbortError')
}

function pathOf(url: string | undefined): string {
  if (!url) return '/'
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

function checkDuration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0) || value > 2 ** 31 - 1) {
    throw new RangeError(`\`${name}\` must be a number of milliseconds from 0 to ${2 ** 31 - 1}, got ${String(value)}.`)
  }
  return value
}

function checkPath(name: string, value: string | false | undefined, fallback: string): string | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new TypeError(`\`${name}\` must be a path starting with "/", or \`false\`; got ${String(value)}.`)
  }
  return value
}
