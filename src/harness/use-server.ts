// useServer() and serverFixture(): the server handle wired to Vitest's hooks or fixtures.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { createServerHandle, type ServerFactory, type ServerHandle, type ServerOptions, type ServerSource } from './server-handle.js'

export interface UseServerOptions extends ServerOptions {
  /**
   * `'file'`: one server for the file (or describe block), started before its first test.
   * `'test'`: a fresh server for every test.
   * @default 'file'
   */
  readonly scope?: 'file' | 'test'
}

/**
 * Starts a server for the tests of this file (or describe block) on loopback port 0, and
 * guarantees it is stopped — also when a test fails or times out.
 * @example
 * const server = useServer(() => createApp())
 * test('health', async () => {
 *   await server.request.get('/health').expect(200)
 * })
 */
export function useServer<T extends ServerSource>(factory: ServerFactory<T>, options: UseServerOptions = {}): ServerHandle<T> {
  const { scope = 'file', ...rest } = options
  if (scope !== 'file' && scope !== 'test') {
    throw new TypeError(`useServer(): \`scope\` must be 'file' or 'test'; received ${JSON.stringify(scope)}.`)
  }
  const handle = createServerHandle(factory, rest)
  const startTimeout = (rest.startTimeout ?? 10_000) + 1_000
  const stopTimeout = (rest.stopTimeout ?? 2_000) + 6_000
  if (scope === 'file') {
    beforeAll(() => handle.start(), startTimeout)
    afterAll(() => handle.stop(), stopTimeout)
  } else {
    beforeEach(() => handle.start(), startTimeout)
    afterEach(() => handle.stop(), stopTimeout)
  }
  return handle
}

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
