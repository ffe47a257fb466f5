// Processes found by a marker in their environment, which children inherit and keep after they
// are re-parented. Linux reads /proc; elsewhere nothing is found (callers say what they cover).
// A leaf module: it imports nothing of leakguard but its node:fs accessor, so the detector, the scenario runner and the
// test suite's own end-of-run check can all use it.
import { fs } from './node-fs.js'

export interface MarkedProcess {
  readonly pid: number
  readonly command: string
  /** Reads one variable of the process's environment. */
  env(name: string): string | undefined
}

/** `false` where there is no /proc (macOS, Windows). */
export const hasProcfs =
  process.platform === 'linux' &&
  (() => {
    try {
      fs.readdirSync('/proc/self/fd')
      return true
    } catch {
      return false
    }
  })()

export function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    // The state follows the command name, which is in parentheses and may contain spaces.
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z'
  } catch {
    return true
  }
}

/** The process's start time in clock ticks since boot (`/proc/PID/stat` field 22): with the pid, it names one process for good. */
export function startTimeOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** The process's arguments, `argv[0]` included; empty when it cannot be read. */
export function argsOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean)
  } catch {
    return []
  }
}

export function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ')
  } catch {
    return '?'
  }
}

/** `true` while the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  return hasProcfs ? !isZombie(pid) : true
}

function readVar(environ: string, name: string): string | undefined {
  const key = `${name}=`
  let start: number
  if (environ.startsWith(key)) {
    start = key.length
  } else {
    const at = environ.indexOf(`\0${key}`)
    if (at === -1) return undefined
    start = at + 1 + key.length
  }
  const end = environ.indexOf('\0', start)
  return environ.slice(start, end === -1 ? undefined : end)
}

type Accept = (value: string, env: (other: string) => string | undefined) => boolean

/**
 * The pids alive now (none where there is no /proc). A process that a later search finds under one of them is that
 * same process: Linux hands out pids in a cycle, so a freed pid comes back only after all others did.
 */
export function livePids(): Set<number> {
  return new Set(hasProcfs ? pidEntries().map(Number) : [])
}

function pidEntries(): string[] {
  try {
    return fs.readdirSync('/proc').filter((entry) => {
      const first = entry.charCodeAt(0)
      return first >= 48 && first <= 57 && Number(entry) !== process.pid
    })
  } catch {
    return []
  }
}

function marked(pid: number, environ: string, name: string, accept: Accept): MarkedProcess | undefined {
  const value = readVar(environ, name)
  if (value === undefined) return undefined
  const env = (other: string) => readVar(environ, other)
  if (!accept(value, env) || isZombie(pid)) return undefined
  return { pid, command: commandOf(pid), env }
}

/**
 * Live processes (not zombies, not this one) whose environment has `name`, and for which
 * `accept` (given that variable's value and a reader for the others) returns true.
 */
export function findByEnv(name: string, accept: Accept = () => true): MarkedProcess[] {
  if (!hasProcfs) return []
  const found: MarkedProcess[] = []
  for (const entry of pidEntries()) {
    let environ: string
    try {
      environ = fs.readFileSync(`/proc/${entry}/environ`, 'latin1')
    } catch {
      continue
    }
    const match = marked(Number(entry), environ, name, accept)
    if (match) found.push(match)
  }
  return found
}

/**
 * `findByEnv`, with the environments read off the main thread, and without the processes in `skip`. Reading the
 * environment of a process that is starting up waits on that process (its memory map is locked while it maps its
 * heap): a scenario runner, which starts dozens of servers, lost about 17 ms of its loop per synchronous search.
 */
export async function findByEnvAsync(name: string, accept: Accept = () => true, skip: ReadonlySet<number> = new Set()): Promise<MarkedProcess[]> {
  if (!hasProcfs) return []
  const read = (entry: string) =>
    new Promise<MarkedProcess | undefined>((resolve) => {
      fs.readFile(`/proc/${entry}/environ`, 'latin1', (error, environ) => {
        resolve(error ? undefined : marked(Number(entry), environ, name, accept))
      })
    })
  const found = await Promise.all(pidEntries().filter((entry) => !skip.has(Number(entry))).map(read))
  return found.filter((match) => match !== undefined)
}
