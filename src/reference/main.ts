// Entry point of the bundled reference server (`node dist/reference/main.js`): configuration from the environment,
// then the server runs until SIGTERM or SIGINT; with WORKERS > 1 this process is the primary of a cluster running it.
// Invalid configuration: one line on stderr, exit code 71.
import { EXIT_INVALID_CONFIG } from '../lifecycle.js'
import { isClusterWorker } from '../lifecycle/process.js'
import { ConfigError, readConfig, type ReferenceConfig } from './config.js'
import { runReferencePrimary } from './primary.js'
import { runReferenceServer } from './server.js'

let config: ReferenceConfig | undefined
try {
  config = readConfig(process.env)
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`[reference] invalid configuration: ${error.message}\n`)
  process.exitCode = EXIT_INVALID_CONFIG
}
if (config && config.workers > 1 && !isClusterWorker()) await runReferencePrimary(config)
else if (config) await runReferenceServer(config)
