import { test } from 'vitest'
import { useServer } from 'leakguard'
import { createApp } from './app.js'

const server = useServer(() => createApp())

test('greets', async () => {
  await server.request.get('/hello/world').expect(200, { hello: 'world' })
})
