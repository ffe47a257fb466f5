// createLifecycleServer against real sockets on 127.0.0.1: start, drain, stop, restart, health, failures.
import http from 'node:http'
import net from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { createLifecycleServer, PortUnavailableError, type LifecycleServer } from '../../src/lifecycle.js'
import { connectOutcome, deferred, get, within } from './helpers.js'

// Every server a test creates is stopped here too, so a failing assertion cannot leak one into the next test.
const servers = new Set<LifecycleServer<any>>()
function track<S extends LifecycleServer<any>>(server: S): S {
  servers.add(server)
  return server
}
afterEach(async () => {
  await Promise.all([...servers].map((server) => server.stop().catch(() => {})))
  servers.clear()
})

describe('start and stop', () => {
  test('start() resolves once listening on loopback; the handler gets the context', async () => {
    const server = track(
      createLifecycleServer({
        logger: false,
        createContext: () => ({ greeting: 'hello' }),
        handler: (_req, res, { context }) => void res.end(context.greeting),
      }),
    )
    expect(server.state).toBe('idle')
    await server.start()
    expect(server.state).toBe('ready')
    expect(server.server.listening).toBe(true)
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1' })
    expect(server.port).toBeGreaterThan(0)
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    expect((await get(`${server.url}/`)).body).toBe('hello')
    await server.stop()
    expect(server.state).toBe('stopped')
    expect(server.server.listening).toBe(false)
  })

  test('start() while started rejects; stop() twice is safe and shares one promise', async () => {
    const server = track(createLifecycleServer({ logger: false, handler: (_req, res) => void res.end() }))
    await server.start()
    await expect(server.start()).rejects.toThrow(/already ready.*stop\(\)/)
    const first = server.stop()
    const second = server.stop()
    expect(second).toBe(first)
    await Promise.all([first, second])
    await expect(server.stop()).resolves.toMatchObject({ forced: 0 })
    expect(server.state).toBe('stopped')
  })

  test('a port in use rejects with PortUnavailableError (exit code 72) and leaves nothing open', async () => {
    const holder = track(createLifecycleServer({ logger: false, handler: (_req, res) => void res.end() }))
    await holder.start()
    const destroyed = vi.fn()
    const server = track(
      createLifecycleServer({
        logger: false,
        port: holder.port,
        createContext: () => ({ destroy: destroyed }),
        handler: (_req, res) => void res.end(),
      }),
    )
    const error = await server.start().then(
      () => expect.unreachable('start() should have failed'),
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(PortUnavailableError)
    expect(error).toMatchObject({ exitCode: 72, code: 'EADDRINUSE', port: holder.port, host: '127.0.0.1' })
    expect((error as Error).message).toBe(
      `Port ${holder.port} on 127.0.0.1 is already in use (EADDRINUSE). Stop the process holding it, choose another port, or use port 0 to let the system pick.`,
    )
    expect(server.state).toBe('stopped')
    expect(server.server.listening).toBe(false)
    expect(destroyed).toHaveBeenCalledTimes(1)
    expect(server.context).toBeUndefined()
    await expect(server.stop()).resolves.toMatchObject({ forced: 0 })
  })

  test('a failing createContext rejects start() and nothing listens', async () => {
    const server = track(
      createLifecycleServer({
        logger: false,
        createContext: () => Promise.reject(new Error('no database')),
        handler: (_req, res) => void res.end(),
      }),
    )
    await expect(server.start()).rejects.toThrow('no database')
    expect(server.state).toBe('stopped')
    expect(server.server.listening).toBe(false)
  })

  test('bad options are rejected with the option name', () => {
    const handler = () => {}
    expect(() => createLifecycleServer({ handler, port: 70_000 })).toThrow(RangeError)
    expect(() => createLifecycleServer({ handler, port: 70_000 })).toThrow('`port`')
    expect(() => createLifecycleServer({ handler, drainTimeout: -1 })).toThrow('`drainTimeout`')
    expect(() => createLifecycleServer({ handler, healthPath: 'health' })).toThrow('`healthPath`')
    expect(() => createLifecycleServer({ handler: undefined as never })).toThrow('`handler`')
    expect(() => createLifecycleServer({ handler, createContext: () => 1, sharedContext: () => 1 })).toThrow(
      '`createContext`',
    )
  })
})

describe('serverOptions', () => {
  test('reach http.createServer: headersTimeout, checked every connectionsCheckingInterval, drops a slow-headers client', async () => {
    const HEADERS_MS = 200
    const server = track(
      createLifecycleServer({
        logger: false,
        serverOptions: { headersTimeout: HEADERS_MS, connectionsCheckingInterval: 25, keepAliveTimeout: 1_234 },
        handler: (_req, res) => void res.end('ok'),
      }),
    )
    expect(server.server.headersTimeout).toBe(HEADERS_MS)
    expect(server.server.keepAliveTimeout).toBe(1_234)
    await server.start()
    const socket = net.connect(server.port, '127.0.0.1')
    try {
      let reply = ''
      socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk))
      socket.on('error', () => {}) // the server may reset instead of ending; either way it must go
      const closed = once(socket, 'close')
      await once(socket, 'connect')
      const began = performance.now()
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n') // the blank line that ends the headers never comes
      // Node's defaults (60 s headersTimeout, checked every 30 s) would keep it open far longer than this.
      await within(closed, 3_000, 'the slow-headers connection was still open 3 s later')
      expect(performance.now() - began).toBeGreaterThanOrEqual(HEADERS_MS * 0.9)
      expect(reply).toMatch(/^HTTP\/1\.1 408 /)
      expect((await get(`${server.url}/`)).body).toBe('ok')
    } finally {
      socket.destroy()
    }
  })

  test('must be an object', () => {
    expect(() => createLifecycleServer({ handler: () => {}, serverOptions: 5 as never })).toThrow(TypeError)
    expect(() => createLifecycleServer({ handler: () => {}, serverOptions: 5 as never })).toThrow('`serverOptions`')
  })
})

describe('drain', () => {
  test('an in-flight request completes with Connection: close, its signal aborts, new connections are refused', async () => {
    const entered = deferred()
    const release = deferred()
    let abortedWhenReleased: boolean | undefined
    const server = track(
      createLifecycleServer({
        logger: false,
        handler: async (_req, res, { signal }) => {
          entered.resolve()
          await release.promise
          abortedWhenReleased = signal.aborted
          res.end('done')
        },
      }),
    )
    await server.start()
    const agent = new http.Agent({ keepAlive: true })
    try {
      const reply = get(`${server.url}/slow`, { agent })
      await entered.promise
      const stopped = server.stop()
      expect(server.state).toBe('draining')
      expect(await connectOutcome(server.port)).toBe('ECONNREFUSED')
      release.resolve()
      await expect(reply).resolves.toMatchObject({ status: 200, body: 'done', headers: { connection: 'close' } })
      expect(abortedWhenReleased).toBe(true)
      await expect(stopped).resolves.toMatchObject({ forced: 0, interrupted: [], timedOut: false })
      expect(server.state).toBe('stopped')
    } finally {
      agent.destroy()
    }
  })

  test('an idle keep-alive socket is closed at once, long before keepAliveTimeout', async () => {
    const server = track(createLifecycleServer({ logger: false, handler: (_req, res) => void res.end('ok') }))
    server.server.keepAliveTimeout = 60_000
    await server.start()
    const agent = new http.Agent({ keepAlive: true })
    try {
      let clientSocket: net.Socket | undefined
      const reply = await get(`${server.url}/`, { agent, onSocket: (socket) => (clientSocket = socket) })
      expect(reply.headers.connection).toBe('keep-alive')
      expect(clientSocket?.destroyed).toBe(false)
      const clientClosed = once(clientSocket!, 'close')
      const began = performance.now()
      const result = await server.stop()
      expect(performance.now() - began).toBeLessThan(1_000)
      expect(result).toMatchObject({ forced: 0, timedOut: false })
      await clientClosed
      expect(await connectOutcome(server.port)).toBe('ECONNREFUSED')
    } finally {
      agent.destroy()
    }
  })

  test('a response whose keep-alive headers went out before the drain still gets its socket closed when it ends', async () => {
    const release = deferred()
    const server = track(
      createLifecycleServer({
        logger: false,
        drainTimeout: 5_000,
        handler: async (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'text/plain' })
          res.write('first ')
          await release.promise
          res.end('last')
        },
      }),
    )
    server.server.keepAliveTimeout = 60_000
    await server.start()
    const agent = new http.Agent({ keepAlive: true })
    try {
      const firstChunk = deferred()
      const reply = new Promise<{ connection: string | undefined; body: string; socketClosed: Promise<unknown> }>((resolve, reject) => {
        const req = http.get(`${server.url}/stream`, { agent }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            body += chunk
            firstChunk.resolve()
          })
          res.on('end', () => resolve({ connection: res.headers.connection, body, socketClosed: socketClosed }))
        })
        const socketClosed = new Promise((r) => req.once('socket', (socket) => socket.once('close', r)))
        req.on('error', reject)
      })
      await firstChunk.promise
      const began = performance.now()
      const stopped = server.stop()
      release.resolve()
      const { connection, body, socketClosed } = await reply
      expect(connection).toBe('keep-alive') // too late to say close: the headers were already sent
      expect(body).toBe('first last')
      await expect(stopped).resolves.toMatchObject({ forced: 0, timedOut: false })
      expect(performance.now() - began).toBeLessThan(1_000)
      await socketClosed
    } finally {
      agent.destroy()
    }
  })

  test('a hung request is destroyed at drainTimeout and reported', async () => {
    const entered = deferred()
    const warnings: string[] = []
    const server = track(
      createLifecycleServer({
        drainTimeout: 150,
        logger: { error: () => {}, warn: (msg) => warnings.push(msg) },
        handler: () => entered.resolve(), // never answers
      }),
    )
    await server.start()
    const reply = get(`${server.url}/hang?id=1`)
    const failed = reply.then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    )
    await entered.promise
    const result = await server.stop()
    expect(result).toMatchObject({ forced: 1, interrupted: ['GET /hang?id=1'], timedOut: true })
    expect(result.durationMs).toBeGreaterThanOrEqual(140)
    expect(await failed).toBe('ECONNRESET')
    expect(warnings.join('\n')).toMatch(/^\[leakguard\] Drain timed out after 150 ms; destroying 1 socket\(s\) serving GET \/hang\?id=1\.$/)
  })

  test('drain() keeps the context until stop()', async () => {
    const destroyed = vi.fn()
    const server = track(
      createLifecycleServer({
        logger: false,
        createContext: () => ({ destroy: destroyed }),
        handler: (_req, res) => void res.end(),
      }),
    )
    await server.start()
    const drained = server.drain()
    expect(server.drain()).toBe(drained)
    await drained
    expect(server.state).toBe('draining')
    expect(server.server.listening).toBe(false)
    expect(destroyed).not.toHaveBeenCalled()
    await server.stop()
    expect(destroyed).toHaveBeenCalledTimes(1)
    expect(server.state).toBe('stopped')
  })

  test('the signal aborts when the client goes away', async () => {
    const aborted = deferred<unknown>()
    const entered = deferred()
    const server = track(
      createLifecycleServer({
        logger: false,
        handler: (_req, res, { signal }) => {
          signal.addEventListener('abort', () => {
            aborted.resolve(signal.reason)
            res.end()
          })
          entered.resolve()
        },
      }),
    )
    await server.start()
    const req = http.get(`${server.url}/`, { agent: false })
    req.on('error', () => {}) // the destroy below makes the request fail with "socket hang up"; expected
    const gone = new Promise((resolve) => req.once('close', resolve))
    await entered.promise
    req.destroy()
    expect(await aborted.promise).toMatchObject({ name: 'AbortError' })
    await gone
    await server.stop()
  })
})

describe('restart', () => {
  test('same port, a new context, the old one destroyed before the new one is created', async () => {
    const events: string[] = []
    let generation = 0
    const server = track(
      createLifecycleServer({
        logger: false,
        createContext: () => {
          const id = ++generation
          events.push(`create ${id}`)
          return { id, destroy: () => void events.push(`destroy ${id}`) }
        },
        handler: (_req, res, { context }) => void res.end(String(context.id)),
      }),
    )
    await server.start()
    const port = server.port
    expect((await get(server.url)).body).toBe('1')
    await server.restart()
    expect(server.state).toBe('ready')
    expect(server.port).toBe(port)
    expect((await get(server.url)).body).toBe('2')
    expect(events).toEqual(['create 1', 'destroy 1', 'create 2'])
    await server.stop()
    expect(events).toEqual(['create 1', 'destroy 1', 'create 2', 'destroy 2'])
  })

  test('a request in flight during restart finishes on the old context; the next one sees the new', async () => {
    const entered = deferred()
    const release = deferred()
    let generation = 0
    const server = track(
      createLifecycleServer({
        logger: false,
        createContext: () => ({ id: ++generation }),
        handler: async (req, res, { context }) => {
          if (req.url === '/slow') {
            entered.resolve()
            await release.promise
          }
          res.end(String(context.id))
        },
      }),
    )
    await server.start()
    const slow = get(`${server.url}/slow`)
    await entered.promise
    const restarted = server.restart()
    release.resolve()
    expect((await slow).body).toBe('1')
    await restarted
    expect((await get(server.url)).body).toBe('2')
  })

  test('stop() during a restart stops the restarted server', async () => {
    const server = track(createLifecycleServer({ logger: false, handler: (_req, res) => void res.end() }))
    await server.start()
    const restarted = server.restart()
    const stopped = server.stop()
    await restarted
    await stopped
    expect(server.state).toBe('stopped')
    expect(server.server.listening).toBe(false)
  })
})

describe('health and readiness', () => {
  test('/health answers 200 with status, checks and uptime; /ready runs the checks', async () => {
    let databaseUp = true
    const server = track(
      createLifecycleServer({
        logger: false,
        healthChecks: { database: async () => databaseUp, cache: () => true },
        handler: (_req, res) => void res.end('app'),
      }),
    )
    await server.start()
    const health = await get(`${server.url}/health`)
    expect(health.status).toBe(200)
    expect(health.headers['content-type']).toMatch(/^application\/json/)
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', state: 'ready', checks: {}, uptime: expect.any(Number) })

    const ready = await get(`${server.url}/ready?probe=1`)
    expect(ready.status).toBe(200)
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', checks: { database: true, cache: true } })

    databaseUp = false
    const notReady = await get(`${server.url}/ready`)
    expect(notReady.status).toBe(503)
    expect(JSON.parse(notReady.body)).toMatchObject({ status: 'not ready', checks: { database: false, cache: true } })
    // Liveness does not depend on dependencies.
    expect((await get(`${server.url}/health`)).status).toBe(200)
  })

  test('a check that throws or outlives checkTimeout counts as failing', async () => {
    const stuck = deferred<boolean>()
    const warnings: string[] = []
    const server = track(
      createLifecycleServer({
        checkTimeout: 50,
        logger: { error: () => {}, warn: (msg) => warnings.push(msg) },
        healthChecks: {
          throws: () => {
            throw new Error('broken')
          },
          slow: () => stuck.promise,
        },
        handler: (_req, res) => void res.end(),
      }),
    )
    await server.start()
    const ready = await get(`${server.url}/ready`)
    stuck.resolve(true)
    expect(ready.status).toBe(503)
    expect(JSON.parse(ready.body).checks).toEqual({ throws: false, slow: false })
    expect(warnings.join('\n')).toMatch(/`throws` threw: Error: broken/)
    expect(warnings.join('\n')).toMatch(/`slow` did not answer within 50 ms/)
  })

  test('paths are configurable, and false hands the path to the handler', async () => {
    const server = track(
      createLifecycleServer({
        logger: false,
        healthPath: '/livez',
        readyPath: false,
        handler: (req, res) => void res.end(`handler ${req.url}`),
      }),
    )
    await server.start()
    expect((await get(`${server.url}/livez`)).status).toBe(200)
    expect((await get(`${server.url}/health`)).body).toBe('handler /health')
    expect((await get(`${server.url}/ready`)).body).toBe('handler /ready')
  })
})

describe('handler errors', () => {
  test('a throwing handler becomes a 500 and is logged', async () => {
    const errors: string[] = []
    const server = track(
      createLifecycleServer({
        logger: { error: (msg) => errors.push(msg) },
        handler: async () => {
          throw new Error('kaput')
        },
      }),
    )
    await server.start()
    const reply = await get(`${server.url}/x`)
    expect(reply.status).toBe(500)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^\[leakguard\] The request handler failed for GET \/x: Error: kaput/)
  })
})
