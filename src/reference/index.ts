// The bundled reference server as a module: its configuration reader and the program itself. The runnable entry is
// `main.ts`; scenarios start it as a child process through `REFERENCE_SERVER_PATH`.
export { ConfigError, readConfig, type ReferenceConfig } from './config.js'
export { openUsersDb, type User, type UsersDb } from './db.js'
export {
  runReferenceServer,
  type AppContext,
  type ReadyAnnouncement,
  type ReferenceServer,
  type ReferenceServerOptions,
} from './server.js'

export { REFERENCE_SERVER_PATH } from './entry.js'
