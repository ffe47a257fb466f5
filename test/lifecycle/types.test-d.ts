// Type tests for leakguard/lifecycle: context inference flows from createContext to the handler and the group.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { expectTypeOf, test } from 'vitest'
import {
  connectWithBackoff,
  createLifecycleServer,
  createServerGroup,
  ExitCode,
  type DrainResult,
  type LifecycleServer,
  type LifecycleState,
} from '../../src/lifecycle.js'

test('the handler sees the type createContext returns', () => {
  const server = createLifecycleServer({
    createContext: async () => ({ db: { query: (sql: string) => sql.length } }),
    handler: (req, res, { context, signal }) => {
      expectTypeOf(req).toEqualTypeOf<IncomingMessage>()
      expectTypeOf(res).toEqualTypeOf<ServerResponse>()
      expectTypeOf(context.db.query).returns.toEqualTypeOf<number>()
      expectTypeOf(signal).toEqualTypeOf<AbortSignal>()
    },
  })
  expectTypeOf(server).toEqualTypeOf<LifecycleServer<{ db: { query: (sql: string) => number } }>>()
  expectTypeOf(server.state).toEqualTypeOf<LifecycleState>()
  expectTypeOf(server.stop).returns.resolves.toEqualTypeOf<DrainResult>()
})

test('without createContext the context is undefined', () => {
  createLifecycleServer({
    handler: (_req, _res, { context }) => {
      expectTypeOf(context).toEqualTypeOf<undefined>()
    },
  })
})

test('group members get the group context type; servers are keyed by member name', () => {
  const group = createServerGroup(
    { api: (context) => createLifecycleServer({ sharedContext: context, handler: (_q, r, { context: c }) => void r.end(c.name) }) },
    { createContext: () => ({ name: 'shared' }) },
  )
  expectTypeOf(group.context).toEqualTypeOf<{ name: string } | undefined>()
  expectTypeOf(group.servers).toHaveProperty('api')
})

test('serverOptions takes http.createServer options', () => {
  createLifecycleServer({ handler: () => {}, serverOptions: { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 } })
  // @ts-expect-error a timeout is a number of milliseconds
  createLifecycleServer({ handler: () => {}, serverOptions: { headersTimeout: '10s' } })
})

test('exit codes are literal types; connectWithBackoff resolves to what connect returns', () => {
  expectTypeOf(ExitCode.PORT_UNAVAILABLE).toEqualTypeOf<72>()
  expectTypeOf(connectWithBackoff(async () => 42)).resolves.toEqualTypeOf<number>()
})
