// Test-file entry: useServer(), serverFixture(), allowLeaks(), errors and types.
// Importing it changes nothing global.
export * from './harness/entry-exports.js'
export { useServer, serverFixture } from './harness/use-server.js'
import type { Leak } from './detector/types.js'

declare module 'vitest' {
  interface TaskMeta {
    /** Resources this test (or, on a file, its collection and hooks) leaked, set by leakguard. */
    leaks?: Leak[]
  }
}
