// `leakguard/lifecycle`: production-safe server and process lifecycle. Never imports vitest; importing it
// installs nothing: process handlers exist only after `lifecycle.handleSignals()`.

export {
  createLifecycleServer,
  type DrainResult,
  type HealthCheck,
  type LifecycleServer,
  type LifecycleServerOptions,
  type LifecycleState,
  type RequestContext,
  type RequestHandler,
} from './lifecycle/server.js'
export { createServerGroup, type ServerGroup, type ServerGroupMember, type ServerGroupOptions } from './lifecycle/group.js'
export {
  createLifecycle,
  type CloseInfo,
  type CloseResult,
  type Closer,
  type CloserFailure,
  type HandleSignalsOptions,
  type Lifecycle,
  type LifecycleOptions,
  type OnCloseOptions,
} from './lifecycle/process.js'
export { connectWithBackoff, type BackoffOptions, type RetryInfo } from './lifecycle/backoff.js'
export {
  createChildRegistry,
  type ChildExit,
  type ChildRegistry,
  type ChildRegistryOptions,
  type CloseChildOptions,
} from './lifecycle/children.js'
export {
  createClusterPrimary,
  type ClusterPrimary,
  type ClusterPrimaryOptions,
  type ClusterRespawnOptions,
  type ClusterStopResult,
  type ClusterWorkerExit,
  type ClusterWorkerInfo,
} from './lifecycle/cluster.js'
export {
  ClusterCrashLoopError,
  DependencyUnavailableError,
  EXIT_DEPENDENCY_UNAVAILABLE,
  EXIT_FAILURE,
  EXIT_INVALID_CONFIG,
  EXIT_OK,
  EXIT_PORT_UNAVAILABLE,
  ExitCode,
  PortUnavailableError,
} from './lifecycle/errors.js'
export type { Logger, LoggerOption } from './lifecycle/logger.js'
