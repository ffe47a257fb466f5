// Descendant processes: found by the marker leakguard puts in every spawned child's environment,
// which grandchildren inherit and which survives re-parenting. Linux reads /proc; other systems
// fall back to `ps` (direct children and their live descendants only).
import { execFileSync } from 'node:child_process'
import { findByEnv, hasProcfs, isAlive } from '../shared/procfs.js'
import { MARK_ENV } from './hooks.js'

export interface ProcessInfo {
  readonly pid: number
  readonly command: string
  /** Marker sequence numbers of this thread found in the process environment. */
  readonly seqs: readonly number[]
}

export const canScanDescendants = hasProcfs

/** Live processes (not zombies) whose environment carries a marker with this prefix. */
export function findMarkedProcesses(prefix: string): ProcessInfo[] {
  return findByEnv(MARK_ENV, (value) => value.includes(prefix)).flatMap((p) => {
    const seqs = (p.env(MARK_ENV) ?? '')
      .split(',')
      .filter((mark) => mark.startsWith(prefix))
      .map((mark) => Number(mark.slice(prefix.length)))
    return seqs.length ? [{ pid: p.pid, command: p.command, seqs }] : []
  })
}

/** Without /proc: live descendants of the given pids, from `ps`. */
export function findDescendantsWithPs(roots: readonly number[]): ProcessInfo[] {
  if (hasProcfs || roots.length === 0 || process.platform === 'win32') return []
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
