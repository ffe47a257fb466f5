// Entry point of the bundled reference server (`node dist/reference/main.cjs`, this file bundled; see
// scripts/bundle-setup.mjs): configuration from the environment, then the server runs until SIGTERM or SIGINT; with
// WORKERS > 1 this process is the primary of a cluster running it.
// Invalid configuration: one line on stderr, exit code 71. The primary and the server are imported once it is known
// which one this process runs: a primary serves nothing, and a refused configuration needs neither.
import { EXIT_INVALID_CONFIG } from '../lifecycle/errors.js'
import { isClusterWorker } from '../lifecycle/process.js'
import { ConfigError, readConfig, type ReferenceConfig } from './config.js'

let config: ReferenceConfig | undefined
try {
  config = readConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`[reference] invalid configuration: ${error.message}\n`)
  process.exitCode = EXIT_INVALID_CONFIG
}
// No top-level await: the build also makes a CommonJS bundle of this entry (see scripts/bundle-setup.mjs). A rejection
// is left unhandled, as a top-level await's would be: the lifecycle's handler logs it and closes, or Node exits 1.
if (config && config.workers > 1 && !isClusterWorker()) {
  void import('./primary.js').then((m) => m.runReferencePrimary(config))
} else if (config) {
  void import('./server.js').then((m) => m.runReferenceServer(config))
}
