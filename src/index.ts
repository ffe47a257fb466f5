// Test-file entry: useServer(), serverFixture(), allowLeaks(), errors and types.
// Importing it changes nothing global.
export { allowLeaks } from './harness/allow.js'
export { useServer, serverFixture, type UseServerOptions } from './harness/use-server.js'
export type {
  ServerHandle,
  ServerFactory,
  ServerFactoryContext,
  ServerOptions,
  ServerSource,
  LifecycleLike,
  RequestListener,
} from './harness/server-handle.js'
export { LeakError } from './detector/errors.js'
export { LEAK_KINDS, type Leak, type LeakKind, type AllowEntry, type DetectorOptions } from './detector/types.js'
export type { ReportLeak, Report } from './reporters/schema.js'
import type { Leak } from './detector/types.js'

declare module 'vitest' {
  interface TaskMeta {
    /** Resources this test (or, on a file, its collection and hooks) leaked, set by leakguard. */
    leaks?: Leak[]
  }
}
