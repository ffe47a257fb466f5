// Finding what a server left behind: every process the runner starts carries a marker in its environment, which its
// descendants inherit and keep after they are re-parented, so /proc finds them after the server itself is gone.

import { findByEnvAsync, hasProcfs } from '../shared/procfs.js'

/** The environment variable carrying a scenario's marker. */
export const MARKER_ENV = 'LEAKGUARD_SCENARIO'

export interface LeftProcess {
  readonly pid: number
  readonly command: string
}

export { isAlive, livePids } from '../shared/procfs.js'

/** `false` where there is no /proc (macOS, Windows): descendants then go unchecked. */
export const canFindDescendants = hasProcfs

/** Live (not zombie) processes, but those in `skip`, whose environment has `LEAKGUARD_SCENARIO=<marker>`. */
export async function findMarked(marker: string, skip?: ReadonlySet<number>): Promise<LeftProcess[]> {
  return (await findByEnvAsync(MARKER_ENV, (value) => value === marker, skip)).map((p) => ({
    pid: p.pid,
    command: p.command.length > 80 ? `${p.command.slice(0, 77)}...` : p.command,
  }))
}
