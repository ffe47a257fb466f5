// useServer() and serverFixture(): the server handle wired to Vitest's hooks or fixtures.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { createServerHandle, type ServerFactory, type ServerHandle, type ServerOptions, type ServerSource } from './server-handle.js'
import { bindUseServer } from './server-hooks.js'

export type { UseServerOptions } from './server-hooks.js'

/**
 * Starts a server for the tests of this file (or describe block) on loopback port 0, and
 * guarantees it is stopped — also when a test fails or times out.
 * @example
 * const server = useServer(() => createApp())
 * test('health', async () => {
 *   await server.request.get('/health').expect(200)
 * })
 */
export const useServer = bindUseServer({ beforeAll, afterAll, beforeEach, afterEach })

/**
 * The same server as a `test.extend` fixture: started when a test uses it, stopped after.
 * @example
 * const test = base.extend<{ server: ServerHandle }>({ server: serverFixture(() => createApp()) })
 * test('health', async ({ server }) => {
 *   await server.request.get('/health').expect(200)
 * })
 */
export function serverFixture<T extends ServerSource>(factory: ServerFactory<T>, options: ServerOptions = {}) {
  // Vitest reads a fixture's parameters: the first one must be a destructuring pattern.
  return async ({}: object, use: (handle: ServerHandle<T>) => Promise<void>): Promise<void> => {
    const handle = createServerHandle(factory, options)
    await handle.start()
    try {
      await use(handle)
    } finally {
      await handle.stop()
    }
  }
}
