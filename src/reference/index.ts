// The bundled reference server as a module: its configuration reader and the program itself. The runnable entry is
// `main.ts`; scenarios start it as a child process through `REFERENCE_SERVER_PATH`.
import { fileURLToPath } from 'node:url'

export { ConfigError, readConfig, type ReferenceConfig } from './config.js'
export { openUsersDb, type User, type UsersDb } from './db.js'
export {
  runReferenceServer,
  type AppContext,
  type ReadyAnnouncement,
  type ReferenceServer,
  type ReferenceServerOptions,
} from './server.js'

/** Absolute path of the built entry script, `dist/reference/main.cjs` (one bundle; see scripts/bundle-setup.mjs). */
export const REFERENCE_SERVER_PATH = fileURLToPath(new URL('./main.cjs', import.meta.url))
