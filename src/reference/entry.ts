// Where the runnable reference server is, in a module of its own: the scenario runner starts it by this path without
// loading the server's modules into its own process.
import { fileURLToPath } from 'node:url'

/** Absolute path of the built entry script, `dist/reference/main.cjs` (one bundle; see scripts/bundle-setup.mjs). */
export const REFERENCE_SERVER_PATH = fileURLToPath(new URL('./main.cjs', import.meta.url))
