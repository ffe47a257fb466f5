// useServer(): every factory kind, keep-alive reuse, restart, stop guarantees, errors.
import { describe, expect, test } from 'vitest'
import http from 'node:http'
import https from 'node:https'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import Fastify from 'fastify'
import Koa from 'koa'
import { useServer, serverFixture, type ServerHandle } from 'leakguard'
import { createLifecycleServer } from 'leakguard/lifecycle'
import { test as base } from 'vitest'
import { refused } from '../helpers/net.js'


const KINDS = [
  ['a request listener', 'listener', () => (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('listener')],
  ['an http.Server', 'http.Server', () => http.createServer((_req, res) => res.end('http.Server'))],
  ['an express app', 'express', () => express().get('/', (_req, res) => void res.send('express'))],
  ['a fastify instance', 'fastify', () => Fastify().get('/', async () => 'fastify')],
  ['a Koa app', 'koa', () => new Koa().use((ctx) => (ctx.body = 'koa'))],
  [
    'a lifecycle server',
    'lifecycle',
    ({ port, host }: { port: number; host: string }) =>
      createLifecycleServer({ port, host, handler: (_req, res) => res.end('lifecycle'), logger: false }),
  ],
] as const

describe.each(KINDS)('%s', (_name, body, factory) => {
  const server = useServer(factory as never)
  test('is served on loopback through a keep-alive supertest agent', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
    const first = await server.request.get('/').expect(200)
    expect(first.text).toBe(body)
    const second = await server.request.get('/').expect(200)
    // The same client port twice: the connection was reused, not opened per request.
    expect(second.headers.connection ?? 'keep-alive').toMatch(/keep-alive/i)
  })
})

describe('keep-alive', () => {
  const ports: number[] = []
  const server = useServer(() => (req: http.IncomingMessage, res: http.ServerResponse) => {
    ports.push(req.socket.remotePort!)
    res.end('ok')
  })
  test('consecutive requests share one connection', async () => {
    for (let i = 0; i < 5; i++) await server.request.get('/').expect(200)
    expect(new Set(ports).size).toBe(1)
  })
})

describe('restart', () => {
  let generation = 0
  const server = useServer(() => {
    const mine = ++generation
    return (_req: http.IncomingMessage, res: http.ServerResponse) => res.end(String(mine))
  })
  test('same port, a fresh instance from the factory', async () => {
    const port = server.port
    const before = (await server.request.get('/').expect(200)).text
    await server.restart()
    expect(server.port).toBe(port)
    const after = (await server.request.get('/').expect(200)).text
    expect(Number(after)).toBe(Number(before) + 1)
  })
})

describe("scope: 'test'", () => {
  const seen: http.Server[] = []
  const server = useServer(() => http.createServer((_req, res) => res.end('x')), { scope: 'test' })
  test('first test gets a server', async () => {
    seen.push(server.server)
    await server.request.get('/').expect(200)
  })
  test('the next test gets a fresh one; the previous one is closed', async () => {
    expect(server.server).not.toBe(seen[0])
    expect(seen[0]!.listening).toBe(false)
    await server.request.get('/').expect(200)
  })
})

describe('stop', () => {
  test('idle keep-alive sockets close at once and the port is refused after', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    const handle = createServerHandle(() => (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('ok'))
    await handle.start()
    await handle.request.get('/').expect(200)
    const port = handle.port
    const started = performance.now()
    await handle.stop()
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(await refused(port)).toBe(true)
    await handle.stop() // twice is safe
  })

  test('a request in flight gets stopTimeout, then its socket is destroyed', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    const handle = createServerHandle(() => (_req: http.IncomingMessage, _res: http.ServerResponse) => {}, { stopTimeout: 50 })
    await handle.start()
    const pending = handle.request.get('/hang').then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    )
    await new Promise((resolve) => setTimeout(resolve, 20))
    await handle.stop()
    expect(await pending).toMatch(/ECONNRESET|socket hang up/)
  })

  test('reading the handle before start says where to use it', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    const handle = createServerHandle(() => (_req: http.IncomingMessage, res: http.ServerResponse) => res.end())
    expect(() => handle.url).toThrow(/inside a test or a hook/)
  })
})

describe('bad input', () => {
  test('a factory result of the wrong kind is a TypeError naming what was received', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    const handle = createServerHandle(() => ({ hello: 1 }) as never)
    await expect(handle.start()).rejects.toThrow(/returned an object with keys hello; expected a request listener/)
  })
  test('a server already listening is refused', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    const listening = http.createServer()
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve))
    try {
      await expect(createServerHandle(() => listening).start()).rejects.toThrow(/already listening/)
    } finally {
      await new Promise((resolve) => listening.close(resolve))
    }
  })
  test('options are checked', async () => {
    const { createServerHandle } = await import('../../src/harness/server-handle.js')
    expect(() => createServerHandle(() => () => {}, { host: '0.0.0.0' })).toThrow(/`host` must be a loopback address/)
    expect(() => createServerHandle(() => () => {}, { stopTimeout: -1 })).toThrow(/`stopTimeout` must be a positive number/)
    expect(() => createServerHandle('nope' as never)).toThrow(/expected a factory function/)
  })
})

describe('serverFixture', () => {
  const it = base.extend<{ server: ServerHandle }>({
    server: serverFixture(() => (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('fixture')),
  })
  it('hands the test a started server', async ({ server }) => {
    expect((await server.request.get('/').expect(200)).text).toBe('fixture')
  })
})

describe('fixedPort', () => {
  let told = -1
  const server = useServer(
    ({ port, host }) => {
      told = port
      return createLifecycleServer({ port, host, handler: (_req, res) => res.end('ok'), logger: false })
    },
    { fixedPort: true },
  )
  test('the factory is told a free port before start', async () => {
    expect(told).toBeGreaterThan(0)
    expect(server.port).toBe(told)
    await server.request.get('/').expect(200)
  })
})

describe('an https.Server', () => {
  // A throwaway self-signed certificate for 127.0.0.1, made for this run.
  const dir = mkdtempSync(join(tmpdir(), 'leakguard-tls-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const key = readFileSync(join(dir, 'key.pem'))
  const cert = readFileSync(join(dir, 'cert.pem'))
  rmSync(dir, { recursive: true, force: true })

  const server = useServer(() => https.createServer({ key, cert }, (_req, res) => res.end('secure')))
  test('is served over TLS through a keep-alive agent', async () => {
    expect(server.url).toBe(`https://127.0.0.1:${server.port}`)
    expect((await server.request.get('/').expect(200)).text).toBe('secure')
    expect((await server.request.get('/').expect(200)).text).toBe('secure')
  })
})
