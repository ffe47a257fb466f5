// Descendant processes: found by the marker leakguard puts in every spawned child's environment,
// which grandchildren inherit and which survives re-parenting. Linux reads /proc; other systems
// fall back to `ps` (direct children and their live descendants only).
import { readdirSync, readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { MARK_ENV } from './hooks.js'

export interface ProcessInfo {
  readonly pid: number
  readonly command: string
  /** Marker sequence numbers of this thread found in the process environment. */
  readonly seqs: readonly number[]
}

const HAS_PROC = process.platform === 'linux' && (() => {
  try {
    readdirSync('/proc/self/fd')
    return true
  } catch {
    return false
  }
})()

export const canScanDescendants = HAS_PROC

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The state follows the command name, which is in parentheses and may contain spaces.
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z'
  } catch {
    return true
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ')
  } catch {
    return '?'
  }
}

/** Live processes (not zombies) whose environment carries a marker with this prefix. */
export function findMarkedProcesses(prefix: string): ProcessInfo[] {
  if (!HAS_PROC) return []
  const found: ProcessInfo[] = []
  const needle = `${MARK_ENV}=`
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  for (const entry of entries) {
    const code = entry.charCodeAt(0)
    if (code < 48 || code > 57) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    let env: string
    try {
      env = readFileSync(`/proc/${entry}/environ`, 'latin1')
    } catch {
      continue
    }
    const at = env.indexOf(needle)
    if (at === -1) continue
    const end = env.indexOf('\0', at)
    const value = env.slice(at + needle.length, end === -1 ? undefined : end)
    const seqs: number[] = []
    for (const mark of value.split(',')) {
      if (mark.startsWith(prefix)) seqs.push(Number(mark.slice(prefix.length)))
    }
    if (seqs.length === 0 || isZombie(pid)) continue
    found.push({ pid, command: commandOf(pid), seqs })
  }
  return found
}

/** Without /proc: live descendants of the given pids, from `ps`. */
export function findDescendantsWithPs(roots: readonly number[]): ProcessInfo[] {
  if (HAS_PROC || roots.length === 0 || process.platform === 'win32') return []
  let out: string
  try {
    out = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid=', '-o', 'stat=', '-o', 'command='], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  } catch {
    return []
  }
  const children = new Map<number, { pid: number; command: string; zombie: boolean }[]>()
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line)
    if (!m) continue
    const list = children.get(Number(m[2])) ?? []
    list.push({ pid: Number(m[1]), command: m[4]!, zombie: m[3]!.startsWith('Z') })
    children.set(Number(m[2]), list)
  }
  const result: ProcessInfo[] = []
  const queue = [...roots]
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      queue.push(c.pid)
      if (!c.zombie) result.push({ pid: c.pid, command: c.command, seqs: [] })
    }
  }
  return result
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  return HAS_PROC ? !isZombie(pid) : true
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every pid is gone or was killed. */
export async function terminate(
  pids: readonly number[],
  graceMs: number,
  clock: { sleep(ms: number): Promise<void>; now(): number },
): Promise<void> {
  const { sleep, now } = clock
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig)
    } catch {
      // Already gone.
    }
  }
  for (const pid of pids) signal(pid, 'SIGTERM')
  const deadline = now() + graceMs
  let left = pids.filter(isAlive)
  while (left.length && now() < deadline) {
    await sleep(10)
    left = left.filter(isAlive)
  }
  for (const pid of left) signal(pid, 'SIGKILL')
  const hardDeadline = now() + 1000
  while (left.length && now() < hardDeadline) {
    await sleep(10)
    left = left.filter(isAlive)
  }
}
