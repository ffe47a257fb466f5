// createServerGroup: all-or-none start, concurrent drain then reverse-order stop, restart around one shared context.
import { afterEach, expect, test } from 'vitest'
import {
  createLifecycleServer,
  createServerGroup,
  PortUnavailableError,
  type LifecycleServer,
  type ServerGroup,
} from '../../src/lifecycle.js'
import { connectOutcome, deferred, get } from './helpers.js'

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})
function trackServer<S extends LifecycleServer<any>>(server: S): S {
  cleanups.push(() => server.stop())
  return server
}
function trackGroup<G extends ServerGroup<any, any>>(group: G): G {
  cleanups.push(() => group.stop())
  return group
}

function named(name: string, events: string[], port = 0) {
  return createLifecycleServer({
    logger: false,
    port,
    createContext: () => {
      events.push(`create ${name}`)
      return { destroy: () => void events.push(`destroy ${name}`) }
    },
    handler: (_req, res) => void res.end(name),
  })
}

test('starts members in order and stops them in reverse', async () => {
  const events: string[] = []
  const group = trackGroup(
    createServerGroup({ api: named('api', events), admin: named('admin', events), metrics: named('metrics', events) }),
  )
  await group.start()
  expect(Object.values(group.servers).map((s) => s.state)).toEqual(['ready', 'ready', 'ready'])
  expect((await get(group.servers.admin.url)).body).toBe('admin')
  const results = await group.stop()
  expect(Object.keys(results).sort()).toEqual(['admin', 'api', 'metrics'])
  expect(events).toEqual([
    'create api',
    'create admin',
    'create metrics',
    'destroy metrics',
    'destroy admin',
    'destroy api',
  ])
  await expect(group.stop()).resolves.toBe(results)
})

test('stop() drains every member at once: all refuse new connections, and hung requests cost one drainTimeout', async () => {
  const DRAIN_MS = 200
  const hung = (name: string, events: string[]) => {
    const entered = deferred()
    const server = createLifecycleServer({
      logger: false,
      drainTimeout: DRAIN_MS,
      createContext: () => ({ destroy: () => void events.push(`destroy ${name}`) }),
      handler: () => entered.resolve(), // never answers
    })
    return { server, entered: entered.promise }
  }
  const events: string[] = []
  const members = { api: hung('api', events), admin: hung('admin', events), metrics: hung('metrics', events) }
  const group = trackGroup(
    createServerGroup(
      { api: members.api.server, admin: members.admin.server, metrics: members.metrics.server },
      { createContext: () => ({ destroy: () => void events.push('destroy shared') }) },
    ),
  )
  await group.start()
  const servers = Object.values(group.servers)
  const replies = servers.map((server) =>
    get(`${server.url}/hang`).then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    ),
  )
  await Promise.all(Object.values(members).map((member) => member.entered))

  const stopped = group.stop()
  expect(servers.map((server) => server.state)).toEqual(['draining', 'draining', 'draining'])
  expect(await Promise.all(servers.map((server) => connectOutcome(server.port)))).toEqual([
    'ECONNREFUSED',
    'ECONNREFUSED',
    'ECONNREFUSED',
  ])
  // All three draining and refusing at once is what bounds stop() by one drainTimeout, not three.
  const results = await stopped
  for (const name of ['api', 'admin', 'metrics'] as const) {
    expect(results[name]).toMatchObject({ forced: 1, timedOut: true, interrupted: ['GET /hang'] })
  }
  expect(await Promise.all(replies)).toEqual(['ECONNRESET', 'ECONNRESET', 'ECONNRESET'])
  // Drained together, still finished last-declared first, and the shared context goes after every member.
  expect(events).toEqual(['destroy metrics', 'destroy admin', 'destroy api', 'destroy shared'])
})

test('a member that fails to start stops the ones already started, and the original error is rethrown', async () => {
  const holder = trackServer(createLifecycleServer({ logger: false, handler: (_req, res) => void res.end() }))
  await holder.start()
  const events: string[] = []
  const group = trackGroup(
    createServerGroup(
      { api: named('api', events), admin: named('admin', events, holder.port), metrics: named('metrics', events) },
      { logger: false },
    ),
  )
  const error = await group.start().then(
    () => expect.unreachable('group.start() should have failed'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PortUnavailableError)
  expect(error).toMatchObject({ exitCode: 72, port: holder.port })
  expect(group.servers.api.state).toBe('stopped')
  expect(group.servers.api.server.listening).toBe(false)
  expect(group.servers.admin.state).toBe('stopped')
  expect(group.servers.metrics.state).toBe('idle')
  expect(events).toEqual(['create api', 'create admin', 'destroy admin', 'destroy api'])
})

test('restart: one fresh shared context, the old one destroyed first, every member on its old port', async () => {
  const events: string[] = []
  let generation = 0
  const handler = (_req: unknown, res: { end(body: string): void }, { context }: { context: { id: number } }) =>
    void res.end(String(context.id))
  const group = trackGroup(
    createServerGroup(
      {
        api: (context) => createLifecycleServer({ logger: false, sharedContext: context, handler }),
        admin: (context) => createLifecycleServer({ logger: false, sharedContext: context, handler }),
      },
      {
        createContext: () => {
          const id = ++generation
          events.push(`create ${id}`)
          return { id, destroy: () => void events.push(`destroy ${id}`) }
        },
      },
    ),
  )
  await group.start()
  const ports = [group.servers.api.port, group.servers.admin.port]
  expect(group.context).toMatchObject({ id: 1 })
  expect((await get(group.servers.api.url)).body).toBe('1')
  expect((await get(group.servers.admin.url)).body).toBe('1')

  await group.restart()
  expect([group.servers.api.port, group.servers.admin.port]).toEqual(ports)
  expect((await get(group.servers.api.url)).body).toBe('2')
  expect((await get(group.servers.admin.url)).body).toBe('2')
  // The members borrow the context: only the group destroys it, once per generation.
  expect(events).toEqual(['create 1', 'destroy 1', 'create 2'])

  await group.stop()
  expect(events).toEqual(['create 1', 'destroy 1', 'create 2', 'destroy 2'])
  expect(group.context).toBeUndefined()
})

test('start twice rejects; a member that is not a lifecycle server is a TypeError', async () => {
  const group = trackGroup(createServerGroup({ api: named('api', []) }))
  await group.start()
  await expect(group.start()).rejects.toThrow(/already started/)
  expect(() => createServerGroup({ api: {} as never })).toThrow(TypeError)
  expect(() => createServerGroup({ api: {} as never })).toThrow('`api`')
})

test('the shared context accessor fails clearly before the group starts', () => {
  let read: (() => unknown) | undefined
  createServerGroup(
    {
      api: (context) => {
        read = context
        return createLifecycleServer({ logger: false, sharedContext: context, handler: () => {} })
      },
    },
    { createContext: () => ({}) },
  )
  expect(() => read!()).toThrow(/created by `group.start\(\)`/)
})
