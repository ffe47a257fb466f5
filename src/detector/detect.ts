// Closing a bracket: what it created that is still alive, after a settle only when needed.
import { closeBracket, countTypes, markPrefix, otherDiff, state, type Bracket, type ResourceRecord } from './registry.js'
import { describe, dueAt, liveness, makeLeak, type Described } from './describe.js'
import type { ProcessInfo } from './processes.js'
import { formatSite, isRunnerOwned, parseFrames, userFrame, type Frame } from './stack.js'
import type { ResolvedOptions } from './options.js'
import type { AllowEntry, Leak, LeakKind } from './types.js'

const KILL_GRACE_MS = 500
/** Event-loop turns a settle always gives, even past its deadline (see closeAndCollect). */
const MIN_TURNS = 2

// Process scanning is loaded only once a test has spawned something: most files never do.
let processes: typeof import('./processes.js') | null = null

const OTHER_HINTS: Record<string, string> = {
  MessagePort: 'Close message ports with `port.close()` (or remove their listeners) before the test ends.',
  SignalWrap: "Remove the signal listener with `process.off(signal, listener)`.",
}

interface Candidate {
  readonly rec: ResourceRecord | null
  readonly kind: LeakKind
  readonly maybe: boolean
  readonly describe: () => Described
  readonly stack: string | undefined
  readonly pid?: number
}

// A stack is parsed once per record: the settle loop looks at the same candidates several times.
const parsedFrames = new WeakMap<ResourceRecord, Frame[]>()
function frames(rec: ResourceRecord): Frame[] {
  let list = parsedFrames.get(rec)
  if (!list) {
    list = parseFrames(rec.stack.stack)
    parsedFrames.set(rec, list)
  }
  return list
}

function isAllowed(kind: LeakKind, stack: string | undefined, allowed: ReadonlySet<LeakKind>, allow: readonly AllowEntry[]): boolean {
  if (allowed.has(kind)) return true
  for (const entry of allow) {
    if (typeof entry === 'string') {
      if (entry === kind) return true
      continue
    }
    if (entry.kind && entry.kind !== kind) continue
    if (entry.site === undefined) return true
    const text = stack ?? ''
    if (typeof entry.site === 'string' ? text.includes(entry.site) : entry.site.test(text)) return true
  }
  return false
}

function collect(b: Bracket, opts: ResolvedOptions, before: Map<string, number> | null): Candidate[] {
  const s = state()
  const out: Candidate[] = []
  const livePids = new Set<number>()
  for (const rec of b.records) {
    if (rec.done) continue
    // A leakguard fixture's server, and the connections it accepted, are released by the fixture.
    if (s.ignored.has(rec.ref) || (rec.info.accepted && s.ignored.has(rec.info.server as object))) {
      rec.done = true
      continue
    }
    const live = liveness(rec, opts.unrefTimers)
    if (live === 'no') continue
    if (rec.kind === 'child-process') livePids.add((rec.ref as { pid: number }).pid)
    out.push({
      rec,
      kind: rec.kind,
      maybe: live === 'maybe',
      describe: () => describe(rec),
      stack: rec.stack.stack,
    })
  }
  oneLeakPerConnection(out)
  if (b.spawned && processes) {
    const { canScanDescendants, findDescendantsWithPs, findMarkedProcesses } = processes
    const mine = (seq: number) => {
      const rec = s.spawns.get(seq)
      return rec && rec.owner === b ? rec : null
    }
    let found: ProcessInfo[]
    if (canScanDescendants) {
      found = findMarkedProcesses(markPrefix(s))
    } else {
      found = findDescendantsWithPs([...livePids])
    }
    for (const p of found) {
      if (livePids.has(p.pid)) continue
      const parent = canScanDescendants
        ? p.seqs.map(mine).find(Boolean)
        : b.records.find((r) => r.kind === 'child-process' && !r.done)
      if (!parent) continue
      const parentPid = (parent.ref as { pid?: number }).pid
      out.push({
        rec: null,
        kind: 'child-process',
        maybe: false,
        pid: p.pid,
        stack: parent.stack.stack,
        describe: () => ({
          description: `process ${p.pid} (${p.command.length > 120 ? `${p.command.slice(0, 119)}…` : p.command}), a descendant of child process ${parentPid ?? '?'} that is still running`,
          hint: 'Stop the whole tree: spawn with `detached: true` and call `process.kill(-child.pid)`, or make the child stop its own children before it exits.',
          details: { pid: p.pid, command: p.command, parentPid: parentPid ?? null },
        }),
      })
    }
  }
  if (before) {
    const already = b.type === 'file' ? (s.reportedOther ?? null) : null
    for (const [type, count] of otherDiff(before, already, b.workerPorts)) {
      out.push({
        rec: null,
        kind: 'other',
        maybe: false,
        stack: undefined,
        describe: () => ({
          description: `${count} active ${type} resource${count > 1 ? 's' : ''} (from process.getActiveResourcesInfo())`,
          hint: OTHER_HINTS[type] ?? 'Release it before the test ends; `process.getActiveResourcesInfo()` lists what is still active.',
          details: { type, count },
        }),
      })
    }
  }
  return out
}

/**
 * One connection is one leak: sockets that share a handle are listed once; a connection the test's
 * server accepted is not listed when its client end is (same test), nor while the server itself is
 * listed (closing the server, with its connections, is the one fix).
 */
function oneLeakPerConnection(out: Candidate[]): void {
  // Sockets sharing one handle are one connection (an interceptor's facade and the real socket).
  const handles = new Set<object>()
  for (let i = 0; i < out.length; i++) {
    const handle = out[i]!.kind === 'socket' ? (out[i]!.rec?.ref as { _handle?: object } | undefined)?._handle : undefined
    if (!handle) continue
    if (handles.has(handle)) out.splice(i--, 1)
    else handles.add(handle)
  }
  const clients = new Set<string>()
  const servers = new Set<object>()
  for (const c of out) {
    if (c.kind === 'server' && c.rec) servers.add(c.rec.ref)
    if (c.kind !== 'socket' || !c.rec || c.rec.info.accepted || c.rec.info.udp) continue
    const socket = c.rec.ref as { localAddress?: string; localPort?: number }
    if (socket.localPort) clients.add(`${socket.localAddress}:${socket.localPort}`)
  }
  for (let i = out.length - 1; i >= 0; i--) {
    const rec = out[i]!.rec
    if (!rec?.info.accepted) continue
    const socket = rec.ref as { remoteAddress?: string; remotePort?: number }
    if (servers.has(rec.info.server as object) || clients.has(`${socket.remoteAddress}:${socket.remotePort}`)) out.splice(i, 1)
  }
}

function sleep(ms: number): Promise<void> {
  const { setTimeout } = state().real
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** One turn of the event loop: what is queued now (I/O callbacks, immediates) runs first. */
function nextTurn(): Promise<void> {
  const { setImmediate } = state().real
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Closes a bracket and returns what it leaked. Costs nothing when nothing was left over; otherwise
 * re-checks until everything left over is gone or `settleMs` has passed. There is no early verdict:
 * any resource, even a 30 s timer or a listening server, may still be released by something already
 * under way (a close handshake answered, a 'close' handler), so a leak costs up to `settleMs`.
 */
export async function closeAndCollect(b: Bracket, opts: ResolvedOptions): Promise<Leak[]> {
  const s = state()
  // Concurrent tests change each other's resources: they are not compared.
  const before = b.overlapped ? null : countTypes(b.before)
  if (b.spawned) processes ??= await import('./processes.js')
  const deadline = s.real.now() + opts.settleMs
  const filter = (list: Candidate[]) =>
    list.filter((c) => {
      if (c.rec && isRunnerOwned(frames(c.rec))) {
        c.rec.done = true
        return false
      }
      if (isAllowed(c.kind, c.stack, b.allowed, opts.allow)) {
        if (c.rec) {
          c.rec.done = true
          c.rec.verdict = 'allowed'
        }
        return false
      }
      return true
    })
  let found = filter(collect(b, opts, before))
  // The settle gives the event loop at least MIN_TURNS turns, however late it is: a process that was not scheduled
  // for longer than settleMs (a loaded CI machine) has not yet run even the callbacks already queued (a pool unref'ing
  // an idle connection in a setImmediate), and would report what they release.
  let turns = 0
  while (found.length > 0) {
    const left = deadline - s.real.now()
    if (left <= 0 && (turns >= MIN_TURNS || opts.settleMs === 0)) break
    // Soon at first, then less often: a leftover is most often something closing that needs a turn or two of the
    // event loop (a close handshake, a 'close' event). So the first re-check comes after one turn, the next ones
    // after 1, 2, 4 and 8 ms, then every 10 ms; sooner for a timer about to fire.
    let wait = turns === 0 ? 0 : Math.max(1, Math.min(left, 2 ** (turns - 1), 10))
    turns += 1
    for (const c of found) {
      const due = c.rec ? dueAt(c.rec) : null
      if (due !== null) wait = Math.min(wait, Math.max(1, due - s.real.now() + 1))
    }
    await (wait === 0 ? nextTurn() : sleep(wait))
    found = filter(collect(b, opts, before))
  }
  closeBracket(b)
  found = found.filter((c) => !c.maybe)
  const leaks: Leak[] = []
  const pids: number[] = []
  for (const c of found) {
    if (c.rec) {
      c.rec.done = true
      c.rec.verdict = 'leak'
    }
    const frame = c.rec ? userFrame(frames(c.rec)) : c.stack ? userFrame(parseFrames(c.stack)) : null
    const site = formatSite(frame)
    const fn = frame?.fn?.replace(/^(async|new) /, '') ?? null
    const siteFunction = fn && !fn.includes('<anonymous>') ? fn : null
    const d = c.describe()
    const kill = opts.killLeakedChildren && c.kind === 'child-process'
    const pid = c.pid ?? (c.rec && c.kind === 'child-process' ? (c.rec.ref as { pid: number }).pid : undefined)
    if (kill && pid !== undefined) pids.push(pid)
    const ambiguous = c.rec?.ambiguous
    const described = ambiguous
      ? { ...d, description: `${d.description}, created while concurrent tests ran (${ambiguous.join(', ')})` }
      : d
    leaks.push(makeLeak(c.kind, described, site, { siteFunction, ...(kill ? { terminated: true } : {}) }))
    if (c.kind === 'other' && b.type === 'test') {
      const reported = (s.reportedOther ??= new Map())
      const type = String(d.details.type)
      reported.set(type, (reported.get(type) ?? 0) + Number(d.details.count))
    }
  }
  if (pids.length) await processes!.terminate(pids, KILL_GRACE_MS, { sleep, now: s.real.now })
  return leaks
}

/**
 * Lets the process exit despite what the bracket left alive (reported, or allowed): its timers,
 * servers, sockets, workers, watchers and children no longer keep the event loop alive. For runners
 * whose test processes must end by themselves (node:test waits for each file's process to exit).
 */
export function unrefLeftAlive(b: Bracket): void {
  // A leaked server's accepted connections are part of its leak (reported once, with the server), and so is the
  // accepted end of a leaked client connection to the test's own server (reported once, as the client).
  const left = b.records.filter((r) => r.verdict)
  const servers = new Set(left.map((r) => r.ref))
  const clients = new Set<string>()
  for (const r of left) {
    const socket = r.ref as { localAddress?: string; localPort?: number }
    if (r.kind === 'socket' && !r.info.accepted && socket.localPort) clients.add(`${socket.localAddress}:${socket.localPort}`)
  }
  const partOfLeak = (rec: ResourceRecord): boolean => {
    if (!rec.info.accepted) return false
    const socket = rec.ref as { remoteAddress?: string; remotePort?: number }
    return servers.has(rec.info.server as object) || clients.has(`${socket.remoteAddress}:${socket.remotePort}`)
  }
  for (const rec of b.records) {
    if (!rec.verdict && !partOfLeak(rec)) continue
    const unref = (rec.ref as { unref?: unknown }).unref
    if (typeof unref === 'function') {
      try {
        unref.call(rec.ref)
      } catch {
        // Already closed, or not a handle after all: nothing holds the loop.
      }
    }
  }
}

/**
 * The same for resources the detector knows only by type (a MessagePort): the process's handles of
 * those types are unref'd. Called once the file's leaks are reported.
 */
export function unrefHandlesOfTypes(types: ReadonlySet<string>): void {
  if (types.size === 0) return
  const handles = (process as unknown as { _getActiveHandles?: () => object[] })._getActiveHandles?.() ?? []
  for (const h of handles) {
    if (!types.has(h.constructor?.name)) continue
    try {
      ;(h as { unref?: () => void }).unref?.()
    } catch {
      // Closed meanwhile.
    }
  }
}
