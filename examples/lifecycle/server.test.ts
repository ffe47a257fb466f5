import { expect, test } from 'vitest'
import { useServer } from 'leakguard'
import { createServer } from './server.js'

// useServer hands the factory the port to use: 0 at first, the same port on restart.
const server = useServer(({ port, host }) => createServer({ port, host }))

test('is ready and healthy', async () => {
  await server.request.get('/health').expect(200)
  const ready = await server.request.get('/ready').expect(200)
  expect(ready.body.checks).toEqual({ database: true })
})

test('restart keeps the port and brings a fresh context', async () => {
  const before = await server.request.get('/').expect(200)
  const port = server.port
  await server.restart()
  expect(server.port).toBe(port)
  const after = await server.request.get('/').expect(200)
  expect(after.body.requests).toBe(1)
  expect(after.body.startedAt).toBeGreaterThanOrEqual(before.body.startedAt)
})
