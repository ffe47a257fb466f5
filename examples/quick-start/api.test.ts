import { expect, test } from 'vitest'
import http from 'node:http'

test('creates a user', async () => {
  const server = http.createServer((req, res) => res.end('created'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const res = await fetch(`http://127.0.0.1:${port}/users`, { method: 'POST' })
  expect(await res.text()).toBe('created')
  // forgot: server.close()
})
