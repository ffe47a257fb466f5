import { expect, test } from 'vitest'
import { useServer } from 'leakguard'
import { createApp } from './app.js'

// A fresh app (and so a fresh user list) for every test.
const server = useServer(() => createApp(), { scope: 'test' })

test('creates a user', async () => {
  const res = await server.request.post('/users').send({ name: 'Ada' }).expect(201)
  expect(res.body).toEqual({ id: 1, name: 'Ada' })
})

test('starts empty', async () => {
  await server.request.get('/users').expect(200, [])
})
