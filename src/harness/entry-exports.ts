// What every test-file entry exports alike (`leakguard`, `leakguard/node-test`, `leakguard/jest`):
// allowLeaks(), LeakError and the public types. Each entry adds its runner's useServer().
export { allowLeaks } from './allow.js'
export type { UseServerOptions } from './server-hooks.js'
export type {
  ServerHandle,
  ServerFactory,
  ServerFactoryContext,
  ServerOptions,
  ServerSource,
  LifecycleLike,
  RequestListener,
} from './server-handle.js'
export { LeakError } from '../detector/errors.js'
export { LEAK_KINDS, type Leak, type LeakKind, type AllowEntry, type DetectorOptions } from '../detector/types.js'
export type { ReportLeak, Report } from '../reporters/schema.js'
