// Process-wide (per thread) detector state: brackets, tracked resources and who created them.
// Kept under a registered symbol on `process`, so that every copy of leakguard loaded in one thread
// shares it: the bundled harness and the rest of the detector, and, in Vitest's vm pools, the
// copies loaded in each test file's vm context (a fresh globalThis per file; `process` is the
// thread's own there too).
import type { AsyncLocalStorage } from 'node:async_hooks'
import { threadProcess } from '../shared/thread-process.js'
import { captureStack, type StackHolder } from './stack.js'
import type { LeakKind } from './types.js'

export interface Bracket {
  readonly id: number
  readonly type: 'test' | 'file'
  /** Full test name (suites joined with ` > `), or null for a file bracket. */
  readonly name: string | null
  readonly records: ResourceRecord[]
  /** `process.getActiveResourcesInfo()` when the bracket opened. */
  readonly before: readonly string[]
  /** How many of those were MessagePorts of worker threads (see workerPortRefs). */
  readonly workerPorts: number
  /** Kinds allowed by `allowLeaks()` inside this bracket. */
  readonly allowed: Set<LeakKind>
  /** The test this one runs inside (node:test's subtests), which waits for it. */
  readonly parent: Bracket | null
  /** Another test bracket, not an enclosing one, was open at the same time (test.concurrent). */
  overlapped: boolean
  /** Child processes were spawned while this bracket owned resources. */
  spawned: boolean
  closed: boolean
}

export interface ResourceRecord {
  readonly kind: LeakKind
  /** The resource, until it is released (see `release`). */
  ref: object
  /** Where it was made, unformatted, until it is released. */
  stack: StackHolder
  readonly owner: Bracket
  /** Names of the concurrent tests that were running when an ambiguous resource was created. */
  readonly ambiguous: readonly string[] | null
  readonly createdAt: number
  /** Kind-specific facts noted at creation (delay, repeat, path, fd, spawn marker…). */
  readonly info: Record<string, unknown>
  /** Reported (or allowed) once: never reported again for the file. */
  done: boolean
  /** Left alive at the end of its bracket: reported as a leak, or allowed to stay. */
  verdict?: 'leak' | 'allowed'
}

export type Harness = 'runner' | 'hooks' | 'node-test' | 'jest'

export interface DetectorState {
  installed: boolean
  enabled: boolean
  /**
   * Which harness brackets the tests in this thread: under Vitest, leakguard's runner or the setup
   * file's hooks; or node:test's, or Jest's.
   */
  harness: Harness | null
  nextId: number
  file: Bracket | null
  readonly openTests: Set<Bracket>
  als: AsyncLocalStorage<Bracket> | null
  /** Set while a timer or watcher callback runs: the bracket that created the timer or watcher. */
  callbackOwner: Bracket | null
  /** Set while a DOM window's setInterval runs: jsdom makes an interval of Node timeouts. */
  inDomInterval: boolean
  /** When each http.Agent pool was made (the bracket open then); pools made before arming are absent. */
  readonly agentBirth: WeakMap<object, Bracket>
  /** The http.Agent that created a socket. */
  readonly socketAgent: WeakMap<object, object>
  /** Spawn markers of this thread: seq → record. */
  readonly spawns: Map<number, ResourceRecord>
  spawnSeq: number
  /** Raw descriptors opened in a bracket and not closed yet: fd → record. */
  readonly fds: Map<number, ResourceRecord>
  /** Prefix of this thread's spawn markers (`pid.threadId.`), made on the first spawn. */
  markPrefix: string | null
  /** Resources a leakguard fixture owns and releases itself: never a test's leak. */
  readonly ignored: WeakSet<object>
  /** Absolute paths of files the test runner writes in the test process (node:test's reporter destinations). */
  readonly runnerFiles: Set<string>
  /** 'other' resources already blamed on tests of the current file, by type. */
  reportedOther: Map<string, number> | null
  /** Our wrappers of setTimeout and setInterval, for each realm's globalThis (vm pools). */
  timers: { readonly setTimeout: Function; readonly setInterval: Function; readonly originals: readonly Function[] } | null
  /**
   * The `Object` of the realm whose tests run now, set as each file opens: a stack's holder is made with it. V8 formats
   * a captured stack with the `Error.prepareStackTrace` of the realm its holder was made in, and under Jest every test
   * file has a realm of its own, with a source-map lookup that knows that file's transformed code only.
   */
  holder: ObjectConstructor | null
  /** Live worker threads made here (until their 'exit'): their own MessagePorts are not 'other' resources. */
  readonly workers: Set<object>
  /** Real timer functions, captured before anyone (us, fake timers) replaced them. */
  readonly real: {
    setTimeout: typeof globalThis.setTimeout
    clearTimeout: typeof globalThis.clearTimeout
    setImmediate: typeof globalThis.setImmediate
    now: () => number
  }
}

const KEY = Symbol.for('leakguard.detector.state')
// On the thread's process, not the one a test file sees (Jest's copy, new for every file): state
// kept there would not outlive the file, and every file would patch the builtins again.
const host = threadProcess() as unknown as Record<symbol, DetectorState | undefined>

/**
 * The thread's own timers and clock, from Node's modules, before leakguard wraps them. Not this realm's globals: under
 * Jest with jsdom, those are the first test file's window's, which stop firing once that file's environment is torn
 * down (a leak in a later file of the same worker then waited on them until the hook timed out).
 */
function realTimers(): DetectorState['real'] {
  const proc = threadProcess()
  const timers = proc.getBuiltinModule('node:timers') as typeof import('node:timers')
  // A monotonic clock in milliseconds. Not perf_hooks' `performance.now()`: loading perf_hooks costs a node:test file's
  // process, which has no other use for it, over a millisecond.
  const hrtime = proc.hrtime
  const now = () => {
    const [seconds, nanoseconds] = hrtime()
    return seconds * 1e3 + nanoseconds / 1e6
  }
  return { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, setImmediate: timers.setImmediate, now }
}

export function state(): DetectorState {
  const g = host
  let s = g[KEY]
  if (!s) {
    s = {
      installed: false,
      enabled: false,
      harness: null,
      nextId: 1,
      file: null,
      openTests: new Set(),
      als: null,
      callbackOwner: null,
      inDomInterval: false,
      agentBirth: new WeakMap(),
      socketAgent: new WeakMap(),
      spawns: new Map(),
      spawnSeq: 0,
      fds: new Map(),
      reportedOther: null,
      ignored: new WeakSet(),
      runnerFiles: new Set(),
      markPrefix: null,
      timers: null,
      holder: null,
      workers: new Set(),
      real: realTimers(),
    }
    g[KEY] = s
  }
  return s
}

// Handle types the tracked kinds already cover, and requests that finish by themselves: neither is
// an 'other' leak.
const COVERED_TYPES = new Set([
  'Timeout', 'Immediate', 'TCPServerWrap', 'TCPSocketWrap', 'TCPWrap', 'PipeWrap', 'PipeServerWrap',
  'UDPWrap', 'ProcessWrap', 'FSEventWrap', 'StatWatcher', 'FileHandle', 'TTYWrap', 'Worker',
])
const TRANSIENT = /(Req|ReqWrap|ReqCallback|ReqPromise|ConnectWrap|WriteWrap|ShutdownWrap|Request)$/

/** Active resources of the 'other' kind now, beyond those in `before` and those `already` reported. */
export function otherDiff(before: Map<string, number>, already: Map<string, number> | null, workerPortsBefore = 0): Map<string, number> {
  const diff = new Map<string, number>()
  const now = countTypes(process.getActiveResourcesInfo())
  // A worker thread's own ports count as MessagePorts while ref'd, and Node refs and unrefs them as the worker is
  // used: they belong to the worker, tracked as itself, and are left out of the count at both ends.
  const s = state()
  const workerPorts = s.workers.size > 0 ? workerPortRefs(s) : 0
  if (workerPorts !== workerPortsBefore) now.set('MessagePort', (now.get('MessagePort') ?? 0) - (workerPorts - workerPortsBefore))
  // In a worker thread (Vitest's threads pools), the runner's own ports come and go with its messages: a MessagePort
  // there cannot be told from the test's by count, and one would be blamed on whichever test ran at the time.
  for (const [type, count] of now) {
    if (COVERED_TYPES.has(type) || TRANSIENT.test(type) || (type === 'MessagePort' && inWorkerThread())) continue
    const extra = count - (before.get(type) ?? 0) - (already?.get(type) ?? 0)
    if (extra > 0) diff.set(type, extra)
  }
  return diff
}

let workerThread: boolean | undefined
/** Read once, and only where a MessagePort is active: `worker_threads` is not loaded for it otherwise. */
function inWorkerThread(): boolean {
  return (workerThread ??= !(process.getBuiltinModule('node:worker_threads') as { isMainThread: boolean }).isMainThread)
}

/** How many MessagePorts of this thread's live worker threads are ref'd (each is then one active MessagePort). */
function workerPortRefs(s: DetectorState): number {
  let n = 0
  for (const worker of s.workers) {
    for (const key of Object.getOwnPropertySymbols(worker)) {
      const port = (worker as Record<symbol, { hasRef?: () => boolean; constructor?: { name?: string } } | undefined>)[key]
      if (port?.constructor?.name === 'MessagePort' && typeof port.hasRef === 'function' && port.hasRef()) n++
    }
  }
  return n
}

export function countTypes(types: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

/** This thread's spawn-marker prefix; `worker_threads` is loaded only once something spawns. */
export function markPrefix(s: DetectorState): string {
  return (s.markPrefix ??= `${process.pid}.${process.getBuiltinModule('node:worker_threads').threadId}.`)
}

function encloses(outer: Bracket, inner: Bracket): boolean {
  for (let p = inner.parent; p; p = p.parent) if (p === outer) return true
  return false
}

export function openBracket(type: 'test' | 'file', name: string | null, parent: Bracket | null = null): Bracket {
  const s = state()
  const b: Bracket = {
    id: s.nextId++,
    type,
    name,
    parent,
    records: [],
    before: process.getActiveResourcesInfo(),
    workerPorts: s.workers.size > 0 ? workerPortRefs(s) : 0,
    allowed: new Set(),
    overlapped: false,
    spawned: false,
    closed: false,
  }
  if (type === 'file') {
    s.file = b
    s.reportedOther = null
  } else {
    for (const other of s.openTests) {
      if (encloses(other, b)) continue
      b.overlapped = true
      other.overlapped = true
    }
    s.openTests.add(b)
  }
  return b
}

export function closeBracket(b: Bracket): void {
  b.closed = true
  const s = state()
  if (b.type === 'test') s.openTests.delete(b)
  else if (s.file === b) s.file = null
}

/**
 * The common case, decided without loading the rest of the detector: nothing was created in the
 * bracket that is not already done with (a descriptor since closed), nothing spawned, and the
 * process holds the same active resources as when it opened.
 */
export function isClean(b: Bracket): boolean {
  if (b.spawned) return false
  for (const rec of b.records) if (!rec.done) return false
  // A concurrent test does not compare resources (its neighbours change them).
  if (b.overlapped) return true
  const now = process.getActiveResourcesInfo()
  const before = b.before
  if (now.length === before.length && now.every((type, i) => type === before[i])) return true
  // Requests come and go, and timers and sockets answer through their records.
  return otherDiff(countTypes(before), null, b.workerPorts).size === 0
}

/**
 * Async context: it attributes the resources of concurrent tests, and what a watcher's events
 * lead to. Sequential tests do not pay for it (on Node 20 and 22 an active AsyncLocalStorage hooks
 * every promise), so it is made only when one of those needs it.
 */
export function contextStorage(): AsyncLocalStorage<Bracket> {
  const s = state()
  return (s.als ??= new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)() as AsyncLocalStorage<Bracket>)
}

/** Who a resource created now belongs to, and the concurrent tests when that is a guess. */
export interface Owner {
  readonly owner: Bracket | null
  readonly ambiguous: string[] | null
}

export function currentOwner(s: DetectorState): Owner {
  // A timer firing (or a watcher's event) belongs to whoever created it, not to the test that
  // happens to be running; once that test is over, what its callbacks create answers to the file.
  const fromCallback = s.callbackOwner
  if (fromCallback) return { owner: fromCallback.closed ? s.file : fromCallback, ambiguous: null }
  // A context that outlived its bracket (a closed test's continuation) answers to the file.
  const fromContext = s.als?.getStore()
  if (fromContext) return { owner: fromContext.closed ? s.file : fromContext, ambiguous: null }
  if (s.openTests.size === 1) {
    for (const only of s.openTests) return { owner: only, ambiguous: null }
  }
  if (s.openTests.size > 1) {
    // A subtest answers for what is made while it runs; its enclosing tests wait for it.
    const innermost = [...s.openTests].filter((t) => ![...s.openTests].some((o) => o !== t && encloses(t, o)))
    if (innermost.length === 1) return { owner: innermost[0]!, ambiguous: null }
    // Never blame a clean test for a concurrent neighbour: the file answers for it.
    return { owner: s.file, ambiguous: innermost.map((t) => t.name ?? '?') }
  }
  return { owner: s.file, ambiguous: null }
}

/** Notes a new resource; returns null when no bracket is open (outside a test run). */
export function track(
  kind: LeakKind,
  ref: object,
  skip: Function,
  info: Record<string, unknown> = {},
  known: { readonly stack?: StackHolder; readonly where?: Owner } = {},
): ResourceRecord | null {
  const s = state()
  if (!s.enabled) return null
  const { owner, ambiguous } = known.where ?? currentOwner(s)
  if (!owner) return null
  const rec: ResourceRecord = {
    kind,
    ref,
    stack: known.stack ?? captureStack(skip, s.holder),
    owner,
    ambiguous,
    createdAt: s.real.now(),
    info,
    done: false,
  }
  owner.records.push(rec)
  return rec
}

const RELEASED: object = Object.freeze({})

/**
 * A resource known to be gone for good (a timer that fired): its record is done, and lets go of the resource and of
 * its stack, whose frames hold functions and receivers. What they closed over can then be collected while the test
 * still runs (a test that checks with a FinalizationRegistry that a request's objects are freed).
 */
export function release(rec: ResourceRecord): void {
  rec.done = true
  rec.ref = RELEASED
  rec.stack = RELEASED
}

/** `allowLeaks()` inside a test: the current bracket may keep resources of these kinds. */
export function allowInCurrent(kinds: readonly LeakKind[]): boolean {
  const s = state()
  const { owner } = currentOwner(s)
  if (!owner) return false
  for (const k of kinds) owner.allowed.add(k)
  return true
}

/** Marks a resource as owned by a leakguard fixture, which guarantees its release. */
export function ignoreResource(ref: object): void {
  state().ignored.add(ref)
}
