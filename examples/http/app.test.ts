import { test } from 'vitest'
import { useServer } from 'leakguard'
import { createApp } from './app.js'

const server = useServer(() => createApp())

test('health', async () => {
  await server.request.get('/health').expect(200, { status: 'ok' })
})

test('unknown paths are 404', async () => {
  await server.request.get('/nope').expect(404)
})
