// A server under test: whatever the factory returns, started on loopback, a keep-alive supertest
// agent bound to it, and a stop that releases every socket on both sides. No Vitest here.
//
// Loaded by every test file that imports `leakguard`, so it loads nothing until a server starts:
// the builtins come from `process.getBuiltinModule()`, supertest (CommonJS, ~200 ms with its
// dependencies) is required on the first read of `request`, get-port imported only for `fixedPort`.
// Required through the host's own `require`, supertest also loads in Vitest's vm pools, whose
// module loader cannot run some of its dependencies.
import type http from 'node:http'
import type https from 'node:https'
import type net from 'node:net'
import type tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import type SupertestNS from 'supertest'
import { ignoreResource } from '../detector/registry.js'

const builtin = <T>(id: string): T => process.getBuiltinModule(id) as T
const Http = () => builtin<typeof http>('node:http')
const Https = () => builtin<typeof https>('node:https')
const Net = () => builtin<typeof net>('node:net')
const Tls = () => builtin<typeof tls>('node:tls')

let supertestModule: typeof SupertestNS | null = null
function supertest(): typeof SupertestNS {
  return (supertestModule ??= builtin<typeof import('node:module')>('node:module').createRequire(import.meta.url)('supertest') as typeof SupertestNS)
}

/** What a factory receives: the port to use (0 the first time, the same port on restart) and host. */
export interface ServerFactoryContext {
  readonly port: number
  readonly host: string
}

/** An object with the lifecycle contract: `start()` resolves when ready, `stop()` when released. */
export interface LifecycleLike {
  start(): Promise<unknown> | unknown
  stop(): Promise<unknown> | unknown
  readonly port?: number
  readonly url?: string
  readonly server?: net.Server
}

export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => unknown

/** What `useServer()` accepts from its factory. */
export type ServerSource =
  | RequestListener
  | http.Server
  | https.Server
  | LifecycleLike
  | { callback(): RequestListener }
  | { listen(options: { port: number; host: string }): Promise<unknown>; close(): Promise<unknown> | unknown; server: net.Server; ready(): unknown }

export type ServerFactory<T extends ServerSource = ServerSource> = (context: ServerFactoryContext) => T | Promise<T>

export interface ServerOptions {
  /**
   * Interface to listen on; loopback only, never all interfaces.
   * @default '127.0.0.1'
   */
  readonly host?: string
  /**
   * Longest wait, in ms, for the server to be listening.
   * @default 10_000
   */
  readonly startTimeout?: number
  /**
   * Longest wait, in ms, for requests still in flight at stop; then their sockets are destroyed.
   * @default 2_000
   */
  readonly stopTimeout?: number
  /**
   * Pick a free port (with get-port) before the first start and pass it to the factory, for apps
   * that must know their port when they are created. Otherwise the factory gets port 0 first.
   * @default false
   */
  readonly fixedPort?: boolean
}

export type Agent = ReturnType<typeof SupertestNS.agent>

/** The handle a test uses. */
export interface ServerHandle<T extends ServerSource = ServerSource> {
  /** `http://127.0.0.1:PORT` (`https://` for an https.Server) */
  readonly url: string
  readonly port: number
  /** What the factory returned (the app, the server, the lifecycle object…). */
  readonly server: T
  /** A supertest agent bound to `url`, reusing keep-alive connections. */
  readonly request: Agent
  /** Stops this instance and starts a fresh one from the factory on the same port. */
  restart(): Promise<void>
  /** Stops the server and closes every connection; safe to call twice. */
  stop(): Promise<void>
}

type Kind = 'listener' | 'http-server' | 'koa' | 'fastify' | 'lifecycle'

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'del', 'head', 'options'] as const

function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'function') return `a function with ${v.length} parameters`
  if (typeof v !== 'object') return `${typeof v} ${JSON.stringify(v)}`
  const name = (v as object).constructor?.name
  return name && name !== 'Object' ? `a ${name} instance` : `an object with keys ${Object.keys(v as object).slice(0, 6).join(', ') || '(none)'}`
}

function kindOf(source: unknown): Kind {
  if (source instanceof Net().Server) {
    if (source.listening) {
      throw new TypeError('useServer(): the factory returned a server that is already listening; return it before calling `listen()` so leakguard can pick the port and stop it.')
    }
    return 'http-server'
  }
  if (typeof source === 'function') return 'listener'
  if (source && typeof source === 'object') {
    const o = source as Record<string, unknown>
    if (typeof o.ready === 'function' && typeof o.listen === 'function' && o.server instanceof Net().Server) return 'fastify'
    if (typeof o.start === 'function' && typeof o.stop === 'function') return 'lifecycle'
    if (typeof o.callback === 'function') return 'koa'
  }
  throw new TypeError(
    `useServer(): the factory returned ${describeValue(source)}; expected a request listener (req, res) => …, an http.Server or https.Server not yet listening, an express app, a fastify instance, a Koa app, or an object with start() and stop().`,
  )
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`useServer(): ${what} took longer than ${ms} ms.`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function validate(options: ServerOptions): Required<ServerOptions> {
  const host = options.host ?? '127.0.0.1'
  if (typeof host !== 'string' || host === '' || host === '0.0.0.0' || host === '::') {
    throw new TypeError(`useServer(): \`host\` must be a loopback address such as '127.0.0.1' or '::1'; received ${JSON.stringify(host)}.`)
  }
  for (const key of ['startTimeout', 'stopTimeout'] as const) {
    const v = options[key]
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) {
      throw new RangeError(`useServer(): \`${key}\` must be a positive number of milliseconds; received ${JSON.stringify(v)}.`)
    }
  }
  if (options.fixedPort !== undefined && typeof options.fixedPort !== 'boolean') {
    throw new TypeError(`useServer(): \`fixedPort\` must be true or false; received ${JSON.stringify(options.fixedPort)}.`)
  }
  return {
    host,
    startTimeout: options.startTimeout ?? 10_000,
    stopTimeout: options.stopTimeout ?? 2_000,
    fixedPort: options.fixedPort ?? false,
  }
}

interface Running {
  readonly source: ServerSource
  readonly kind: Kind
  readonly port: number
  readonly url: string
  readonly net: net.Server | null
  readonly sockets: Set<net.Socket>
  readonly agent: http.Agent
  /** Made on the first read of `request`: a test that never reads it never loads supertest. */
  request: Agent | null
}

/** A supertest agent bound to `url` whose requests go through our keep-alive `agent`. */
function requestAgent(url: string, agent: http.Agent): Agent {
  const request = supertest().agent(url)
  for (const m of METHODS) {
    const original = (request as any)[m].bind(request)
    ;(request as any)[m] = (path: string, ...rest: unknown[]) => original(path, ...rest).agent(agent)
  }
  return request
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

/** Closes a server: stop accepting, idle sockets now, busy ones after `timeout`. */
async function closeServer(server: net.Server, sockets: Set<net.Socket>, timeout: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  if (server instanceof Http().Server) server.closeIdleConnections()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy()
      resolve()
    }, timeout)
  })
  await Promise.race([closed, deadline])
  clearTimeout(timer)
  await closed
}

/** Creates a handle; `start()` must be awaited before use (useServer does it in a hook). */
export function createServerHandle<T extends ServerSource>(
  factory: ServerFactory<T>,
  options: ServerOptions = {},
): ServerHandle<T> & { start(): Promise<void>; readonly started: boolean } {
  if (typeof factory !== 'function') {
    throw new TypeError(`useServer(): expected a factory function such as () => createApp(); received ${describeValue(factory)}.`)
  }
  const opts = validate(options)
  let running: Running | null = null
  let lastPort = 0
  let stopping: Promise<void> | null = null

  async function startOnce(wanted: number): Promise<Running> {
    const source = await factory({ port: wanted, host: opts.host })
    const kind = kindOf(source)
    const sockets = new Set<net.Socket>()
    const track = (server: net.Server) => {
      ignoreResource(server)
      server.on('connection', (socket: net.Socket) => {
        sockets.add(socket)
        socket.once('close', () => sockets.delete(socket))
      })
    }
    let server: net.Server | null = null
    let actualPort = 0
    switch (kind) {
      case 'listener':
      case 'koa':
      case 'http-server': {
        server =
          kind === 'http-server'
            ? (source as net.Server)
            : Http().createServer(kind === 'koa' ? (source as { callback(): RequestListener }).callback() : (source as RequestListener))
        track(server)
        await listen(server, wanted, opts.host)
        actualPort = (server.address() as AddressInfo).port
        break
      }
      case 'fastify': {
        const app = source as { listen(o: { port: number; host: string }): Promise<unknown>; server: net.Server }
        server = app.server
        track(server)
        await app.listen({ port: wanted, host: opts.host })
        actualPort = (server.address() as AddressInfo).port
        break
      }
      case 'lifecycle': {
        const obj = source as LifecycleLike
        await obj.start()
        if (obj.server instanceof Net().Server) {
          server = obj.server
          ignoreResource(server)
        }
        const fromServer = server?.address()
        actualPort = typeof obj.port === 'number' && obj.port > 0 ? obj.port : fromServer && typeof fromServer === 'object' ? fromServer.port : 0
        if (!actualPort) {
          await obj.stop()
          throw new TypeError('useServer(): the lifecycle object started but exposes no `port` (or `server`); give it a `port` property.')
        }
        break
      }
    }
    const secure = server instanceof Tls().Server || (kind === 'lifecycle' && /^https:/.test(String((source as LifecycleLike).url)))
    const url = `${secure ? 'https' : 'http'}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${actualPort}`
    // Our own server on loopback, usually with a throwaway certificate: no certificate checks.
    const agent = secure ? new (Https().Agent)({ keepAlive: true, rejectUnauthorized: false }) : new (Http().Agent)({ keepAlive: true })
    const origCreate = agent.createConnection.bind(agent) as (...args: any[]) => net.Socket
    // The fixture's own client sockets are released at stop, never a test's leak.
    ;(agent as any).createConnection = (...args: any[]) => {
      const socket = origCreate(...args)
      ignoreResource(socket)
      return socket
    }
    return { source, kind, port: actualPort, url, net: server, sockets, agent, request: null }
  }

  async function stopRunning(r: Running): Promise<void> {
    // Client side first: idle keep-alive sockets of our agent go now.
    r.agent.destroy()
    switch (r.kind) {
      case 'lifecycle':
        await withTimeout(Promise.resolve((r.source as LifecycleLike).stop()), opts.stopTimeout + 5_000, 'stop()')
        break
      case 'fastify': {
        const app = r.source as { close(): Promise<unknown> | unknown }
        const closing = Promise.resolve(app.close())
        await closeServer(r.net!, r.sockets, opts.stopTimeout)
        await closing
        break
      }
      default:
        await closeServer(r.net!, r.sockets, opts.stopTimeout)
    }
  }

  function need(): Running {
    if (!running) {
      throw new Error('useServer(): the server is not running here; read `url`, `port`, `server` or `request` inside a test or a hook (beforeEach/afterEach), not at module or describe scope.')
    }
    return running
  }

  const handle = {
    get started() {
      return running !== null
    },
    get url() {
      return need().url
    },
    get port() {
      return need().port
    },
    get server() {
      return need().source as T
    },
    get request() {
      const r = need()
      return (r.request ??= requestAgent(r.url, r.agent))
    },
    async start() {
      if (running) throw new Error('useServer(): start() called twice; stop() first.')
      if (stopping) await stopping
      // A port known before start, for apps that must know their own URL when they are created.
      if (lastPort === 0 && opts.fixedPort) {
        const { default: getPort } = await import('get-port')
        lastPort = await getPort({ host: opts.host })
      }
      running = await withTimeout(startOnce(lastPort), opts.startTimeout, 'starting the server')
      lastPort = running.port
    },
    async stop() {
      if (stopping) return stopping
      const r = running
      if (!r) return
      running = null
      stopping = stopRunning(r).finally(() => {
        stopping = null
      })
      return stopping
    },
    async restart() {
      const r = need()
      await handle.stop()
      lastPort = r.port
      await handle.start()
    },
  }

  return handle as unknown as ServerHandle<T> & { start(): Promise<void>; readonly started: boolean }
}
