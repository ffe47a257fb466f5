// Finding what a server left behind: every process the runner starts carries a marker in its environment, which its
// descendants inherit and keep after they are re-parented, so /proc finds them after the server itself is gone.

import { readdirSync, readFileSync } from 'node:fs'

/** The environment variable carrying a scenario's marker. */
export const MARKER_ENV = 'LEAKGUARD_SCENARIO'

export interface LeftProcess {
  readonly pid: number
  readonly command: string
}

/** `false` where there is no /proc (macOS, Windows): descendants then go unchecked. */
export const canFindDescendants =
  process.platform === 'linux' &&
  (() => {
    try {
      readdirSync('/proc/self')
      return true
    } catch {
      return false
    }
  })()

/** Live (not zombie) processes whose environment has `LEAKGUARD_SCENARIO=<marker>`. */
export function findMarked(marker: string): LeftProcess[] {
  if (!canFindDescendants) return []
  const needle = `\0${MARKER_ENV}=${marker}\0`
  const found: LeftProcess[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0)
    if (first < 48 || first > 57) continue
    let environ: string
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1')
    } catch {
      continue
    }
    if (!`\0${environ}\0`.includes(needle)) continue
    const pid = Number(entry)
    if (pid === process.pid || isZombie(pid)) continue
    found.push({ pid, command: commandOf(pid) })
  }
  return found
}

/** `true` while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  return canFindDescendants ? !isZombie(pid) : true
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The state follows the command name, which is in parentheses and may itself contain spaces or parentheses.
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z'
  } catch {
    return true
  }
}

function commandOf(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ')
    return command.length > 80 ? `${command.slice(0, 77)}...` : command
  } catch {
    return '?'
  }
}
