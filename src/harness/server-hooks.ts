// useServer() for any test runner: the server handle, started and stopped by the runner's hooks.
// Imports no test runner: each runner's entry binds it to its own hooks.
import { createServerHandle, type ServerFactory, type ServerHandle, type ServerOptions, type ServerSource } from './server-handle.js'

export interface UseServerOptions extends ServerOptions {
  /**
   * `'file'`: one server for the file (or describe block), started before its first test.
   * `'test'`: a fresh server for every test.
   * @default 'file'
   */
  readonly scope?: 'file' | 'test'
}

type Hook = (fn: () => Promise<unknown>, timeout: number) => unknown

/** A runner's hooks, each called with a function and a time limit in milliseconds. */
export interface RunnerHooks {
  readonly beforeAll: Hook
  readonly afterAll: Hook
  readonly beforeEach: Hook
  readonly afterEach: Hook
}

/** The useServer of a runner with these hooks. */
export function bindUseServer(hooks: RunnerHooks) {
  return function useServer<T extends ServerSource>(factory: ServerFactory<T>, options: UseServerOptions = {}): ServerHandle<T> {
    const { scope = 'file', ...rest } = options
    if (scope !== 'file' && scope !== 'test') {
      throw new TypeError(`useServer(): \`scope\` must be 'file' or 'test'; received ${JSON.stringify(scope)}.`)
    }
    const handle = createServerHandle(factory, rest)
    const startTimeout = (rest.startTimeout ?? 10_000) + 1_000
    const stopTimeout = (rest.stopTimeout ?? 2_000) + 6_000
    if (scope === 'file') {
      hooks.beforeAll(() => handle.start(), startTimeout)
      hooks.afterAll(() => handle.stop(), stopTimeout)
    } else {
      hooks.beforeEach(() => handle.start(), startTimeout)
      hooks.afterEach(() => handle.stop(), stopTimeout)
    }
    return handle
  }
}
