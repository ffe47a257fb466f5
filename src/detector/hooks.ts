// Cheap trackers: thin wrappers around the few calls that create OS resources. They cost one
// record and one unformatted stack per resource, and nothing per promise.
//
// Builtins come from `process.getBuiltinModule()`: this module loads in every test file, and an ESM
// import of a builtin that Vitest has not imported yet costs a module facade each time.
import type * as NetNS from 'node:net'
import type * as HttpNS from 'node:http'
import type * as FsNS from 'node:fs'
import type * as ChildProcessNS from 'node:child_process'
import type { Cluster } from 'node:cluster'
import type * as WorkerNS from 'node:worker_threads'
import type * as DgramNS from 'node:dgram'
import type * as TimersNS from 'node:timers'
import { contextStorage, currentOwner, markPrefix, release, state, track, type Bracket, type DetectorState, type Owner, type ResourceRecord } from './registry.js'
import { captureStack, type StackHolder } from './stack.js'
import { threadProcess } from '../shared/thread-process.js'

/** `util.promisify.custom`, a registered symbol. */
const PROMISIFY_CUSTOM = Symbol.for('nodejs.util.promisify.custom')

export const MARK_ENV = 'LEAKGUARD_MARK'

type AnyFn = (...args: any[]) => any

/** A callback wrapped by withOwner. */
interface OwnedCallback extends AnyFn {
  /** The original: lets `removeListener(original)` find the wrapper. */
  listener: AnyFn
  /** A one-shot timer's record, once tracked: the timer is gone when the callback has run (see release). */
  record?: ResourceRecord | null
}

/**
 * A callback that answers to `owner` while it runs: what it creates is `owner`'s, not the test's
 * that happens to be running.
 */
function withOwner(s: DetectorState, fn: AnyFn, owner: Bracket, carry = false): OwnedCallback {
  const bound = function (this: unknown, ...args: unknown[]) {
    const previous = s.callbackOwner
    s.callbackOwner = owner
    try {
      // `carry`: what the callback starts asynchronously (a stat, then a throttle timer) answers
      // to the owner too. Async context costs on every promise while it is active (Node 20, 22),
      // so only watchers carry it: their events come from outside the test.
      return carry ? contextStorage().run(owner, () => fn.apply(this, args)) : fn.apply(this, args)
    } finally {
      s.callbackOwner = previous
      if (bound.record) release(bound.record)
    }
  } as OwnedCallback
  bound.listener = fn
  return bound
}

/** Marks our wrappers of a DOM window's timers. */
const DOM_WRAPPER = Symbol.for('leakguard.domTimer')

/**
 * `dom`: a DOM environment's window.setTimeout (jsdom, happy-dom). What it returns is tracked only
 * when it is Node's timer (happy-dom, which holds Node's setTimeout from before ours was installed)
 * and our wrapper of Node's setTimeout did not just track it (jsdom calls Node's, ours, underneath).
 */
function wrapTimer(original: AnyFn, repeat: boolean, dom = false): AnyFn {
  const s = state()
  const wrapped = function (this: unknown, callback: unknown, ms?: unknown, ...rest: unknown[]) {
    // Decided once, for both the callback and the record.
    const where = s.enabled ? currentOwner(s) : null
    const owner = typeof callback === 'function' ? where?.owner : null
    const cb = owner ? withOwner(s, callback as AnyFn, owner) : null
    let timer
    if (dom && repeat) {
      const previous = s.inDomInterval
      s.inDomInterval = true
      try {
        timer = original.call(this, cb ?? callback, ms, ...rest)
      } finally {
        s.inDomInterval = previous
      }
    } else {
      timer = original.call(this, cb ?? callback, ms, ...rest)
    }
    const delay = Math.max(1, Number(ms) || 1)
    if (where && (!dom || (typeof timer?.hasRef === 'function' && where.owner?.records.at(-1)?.ref !== timer))) {
      const rec = track('timer', timer, wrapped, { delay, repeat: repeat || s.inDomInterval }, { where })
      // A one-shot timer is gone once it has fired: its record lets go of it then.
      if (cb && !repeat) cb.record = rec
    }
    return timer
  }
  Object.defineProperty(wrapped, 'name', { value: original.name })
  if (dom) Object.defineProperty(wrapped, DOM_WRAPPER, { value: true })
  const custom = (original as unknown as Record<symbol, unknown>)[PROMISIFY_CUSTOM]
  if (custom) Object.defineProperty(wrapped, PROMISIFY_CUSTOM, { value: custom })
  return wrapped
}

function installTimers(): void {
  const timers = process.getBuiltinModule('node:timers') as typeof TimersNS
  const originals = [timers.setTimeout, timers.setInterval]
  const setTimeoutWrapped = wrapTimer(timers.setTimeout, false)
  const setIntervalWrapped = wrapTimer(timers.setInterval, true)
  ;(timers as any).setTimeout = setTimeoutWrapped
  ;(timers as any).setInterval = setIntervalWrapped
  state().timers = { setTimeout: setTimeoutWrapped, setInterval: setIntervalWrapped, originals }
  // The thread's own globalThis, which is not ours in a vm context (vm pools): Node's globals in
  // such a context read it, and so does code loaded natively (supertest, a DOM library's timers).
  patchGlobal(process.getBuiltinModule('node:vm').runInThisContext('globalThis') as typeof globalThis)
}

/**
 * globalThis.setTimeout is the same function as timers.setTimeout: replace it in this realm too.
 * Only Node's own: a DOM environment's window.setTimeout stays (it calls Node's underneath).
 */
function patchGlobal(g: typeof globalThis): void {
  const t = state().timers
  if (!t) return
  if (g.setTimeout === t.originals[0]) (g as any).setTimeout = t.setTimeout
  if (g.setInterval === t.originals[1]) (g as any).setInterval = t.setInterval
}

/**
 * A DOM environment's window (jsdom, happy-dom): `window.setTimeout` in a test file, and plain
 * `setTimeout` where the window is the test file's globalThis (vm pools). Wrapped per window.
 */
function patchWindow(win: unknown): void {
  const t = state().timers
  if (!t || typeof win !== 'object' || win === null) return
  const w = win as Record<string, AnyFn & { [DOM_WRAPPER]?: true }>
  for (const [name, repeat] of [['setTimeout', false], ['setInterval', true]] as const) {
    const fn = w[name]
    if (typeof fn !== 'function' || fn[DOM_WRAPPER] || fn === t.setTimeout || fn === t.setInterval || t.originals.includes(fn)) continue
    w[name] = wrapTimer(fn, repeat, true)
  }
}

/** Builtins whose exports we replace (the others we patch on shared prototypes and objects). */
const REPLACED_EXPORTS = ['timers', 'fs', 'dgram', 'worker_threads']

/**
 * Vitest's vm pools give a test file's context each builtin as a snapshot of its exports (a
 * SyntheticModule), taken when the context first imports it; Vitest's own runtime imports
 * `node:timers` there before leakguard is armed, so `import { setTimeout } from 'node:timers'`
 * would get Node's own. Refresh those snapshots from the patched modules. This reaches into
 * Vitest 4's executor (`__vitest_vm_context__`), guarded: where it is not found, nothing happens.
 */
function patchVmBuiltins(): void {
  const executor = (globalThis as { __vitest_vm_context__?: { externalModulesExecutor?: { cjs?: { moduleCache?: unknown } } } })
    .__vitest_vm_context__?.externalModulesExecutor
  // A Map of the host's realm: `instanceof Map` is false here.
  const cache = executor?.cjs?.moduleCache as { get?: (id: string) => unknown } | undefined
  if (typeof cache?.get !== 'function') return
  for (const name of REPLACED_EXPORTS) {
    for (const id of [`node:${name}`, name]) {
      const mod = cache.get!(id) as { status?: string; setExport?: (key: string, value: unknown) => void } | undefined
      if (mod?.status !== 'evaluated' || typeof mod.setExport !== 'function') continue
      const live = process.getBuiltinModule(`node:${name}`) as Record<string, unknown>
      try {
        for (const key of Object.keys(live)) mod.setExport(key, live[key])
      } catch {
        // A snapshot of another shape: leave it.
      }
    }
  }
}

/**
 * This realm's timers: its globalThis (a vm context has its own), its DOM window, if any, and,
 * in a vm context, its snapshots of the builtins.
 */
export function patchRealm(): void {
  patchGlobal(globalThis)
  patchWindow((globalThis as { window?: unknown }).window)
  patchVmBuiltins()
}

/**
 * A socket's record lets go of it once it has closed (see release): a closed socket still points to the last request
 * and response it carried, and what their listeners closed over.
 */
function releaseOnClose(socket: NetNS.Socket, rec: ResourceRecord | null): void {
  if (rec) socket.once('close', () => release(rec))
}

function installNet(): void {
  const net = process.getBuiltinModule('node:net') as typeof NetNS
  const s = state()
  const listen = net.Server.prototype.listen
  // Each server's newest listen(), and one 'connection' listener per server, whatever the number of listen() calls
  // (a suite that listens and closes the same server in every test would otherwise pile up listeners).
  const latest = new WeakMap<object, NonNullable<ReturnType<typeof track>>>()
  const onConnection = function (this: NetNS.Server, socket: NetNS.Socket) {
    const rec = latest.get(this)
    // A server the test made answers for the connections it accepted (a server from beforeAll
    // does not: those are the file's business).
    if (!rec || rec.owner.type !== 'test' || !s.enabled || rec.owner.closed) return
    // Noted now: by the time a leak is described, the server may be closed.
    const on = this.address()
    releaseOnClose(socket, track('socket', socket, patchedListen, { accepted: true, server: this, on }, { stack: rec.stack, where: { owner: rec.owner, ambiguous: null } }))
  }
  const onServerClose = function (this: NetNS.Server) {
    const rec = latest.get(this)
    if (rec) release(rec)
  }
  const patchedListen = function patchedListen(this: NetNS.Server, ...args: any[]) {
    const rec = track('server', this, patchedListen, { listening: false })
    if (rec) {
      this.once('listening', () => {
        rec.info.listening = true
      })
      latest.set(this, rec)
      if (rec.owner.type === 'test' && !this.listeners('connection').includes(onConnection)) this.on('connection', onConnection)
      if (!this.listeners('close').includes(onServerClose)) this.on('close', onServerClose)
    }
    return listen.apply(this, args as any)
  } as typeof listen
  net.Server.prototype.listen = patchedListen

  const seen = new WeakSet<object>()
  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function patchedConnect(this: NetNS.Socket, ...args: any[]) {
    if (!seen.has(this)) {
      seen.add(this)
      releaseOnClose(this, track('socket', this, patchedConnect))
    }
    return connect.apply(this, args as any)
  } as typeof connect
}

/** `import`/`require` of these (resolved to the `node:` form), or `process.getBuiltinModule()`, loads `node:http`'s Agent. */
const HTTP_IDS = new Set(['http', 'https', 'node:http', 'node:https'])

/**
 * The agent patch needs `node:http`. Loading it when the detector arms costs a test worker that never uses it 3–6 ms
 * on Node 24 and enough long-lived heap there for V8 to double its young generation part-way through a file, which
 * made promise-heavy tests a third slower (found with bench/import.mjs on Vitest 5, whose test workers have not
 * loaded http by then). On Node 24 and later, which has synchronous module hooks, and while http is not loaded, the
 * patch waits for the first `import` or `require` of http or https, or `process.getBuiltinModule()` of either: the
 * ways user code reaches an Agent. Elsewhere it is installed at once.
 */
function installAgentsOnFirstUse(): void {
  const loaded = (process as { moduleLoadList?: unknown }).moduleLoadList
  const major = Number(process.versions.node.split('.')[0])
  // The major first: before 24, node:module would be loaded (and its source-map support) for nothing.
  if (major < 24 || !Array.isArray(loaded) || loaded.includes('NativeModule _http_agent')) return installAgents()
  const { registerHooks } = process.getBuiltinModule('node:module') as {
    registerHooks?: (hooks: { resolve: (specifier: string, context: unknown, next: AnyFn) => { url: string } }) => { deregister(): void }
  }
  if (typeof registerHooks !== 'function') return installAgents()
  const proc = threadProcess() as NodeJS.Process & { getBuiltinModule: AnyFn }
  const getBuiltinModule = proc.getBuiltinModule
  let installed = false
  const hooks = registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context)
      if (!installed && HTTP_IDS.has(resolved.url)) install()
      return resolved
    },
  })
  const patchedGetBuiltinModule = function (this: unknown, id: string) {
    if (HTTP_IDS.has(id)) install()
    return getBuiltinModule.call(this, id)
  }
  proc.getBuiltinModule = patchedGetBuiltinModule
  function install(): void {
    if (installed) return
    installed = true
    if (proc.getBuiltinModule === patchedGetBuiltinModule) proc.getBuiltinModule = getBuiltinModule
    // Not from inside the hook that is running: once it has returned.
    queueMicrotask(() => hooks.deregister())
    installAgents()
  }
}

/**
 * http's Agent, from the module that defines it: `_http_agent` alone costs a test process that has not loaded http
 * yet a fifth of what all of http does (its client, server and parser).
 */
function agentClass(): typeof HttpNS.Agent {
  try {
    const { Agent } = process.getBuiltinModule('_http_agent') as { Agent?: typeof HttpNS.Agent }
    if (typeof Agent === 'function') return Agent
  } catch {
    // A runtime without the module: http has it.
  }
  return (process.getBuiltinModule('node:http') as typeof HttpNS).Agent
}

/**
 * Pools: an idle keep-alive connection answers to its pool, and a pool to whoever made it. The
 * Agent constructor assigns `freeSockets`; an accessor on the prototype sees that assignment (the
 * constructor runs for subclasses and https.Agent too) and notes the bracket open at the time.
 */
function installAgents(): void {
  const s = state()
  const proto = agentClass().prototype as any
  Object.defineProperty(proto, 'freeSockets', {
    configurable: true,
    get: () => undefined,
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'freeSockets', { value, writable: true, enumerable: true, configurable: true })
      const owner = s.enabled ? currentOwner(s).owner : null
      if (owner) s.agentBirth.set(this, owner)
    },
  })
  const createSocket = proto.createSocket as AnyFn
  proto.createSocket = function patchedCreateSocket(this: object, req: unknown, options: unknown, cb: AnyFn) {
    const agent = this
    return createSocket.call(this, req, options, (err: unknown, socket: object | undefined) => {
      if (socket) s.socketAgent.set(socket, agent)
      return cb(err, socket)
    })
  }
}

function installDgram(): void {
  const dgram = process.getBuiltinModule('node:dgram') as typeof DgramNS
  const createSocket = dgram.createSocket
  ;(dgram as any).createSocket = function patchedCreateSocket(...args: any[]) {
    const socket = (createSocket as AnyFn)(...args) as DgramNS.Socket
    const rec = track('socket', socket, patchedCreateSocket, { udp: true, closed: false })
    if (rec) socket.once('close', () => (rec.info.closed = true))
    return socket
  }
}

function installChildProcess(): void {
  const cp = process.getBuiltinModule('node:child_process') as typeof ChildProcessNS
  const s = state()
  const proto = cp.ChildProcess.prototype as any
  const spawn = proto.spawn as AnyFn
  proto.spawn = function patchedSpawn(this: ChildProcessNS.ChildProcess, options: any) {
    // node:cluster forks its workers with this variable: they are stopped through the cluster, not one by one, and
    // named by their script (their command line repeats the runner's own flags first).
    const cluster = Array.isArray(options?.envPairs) && (options.envPairs as string[]).some((p) => p.startsWith('NODE_UNIQUE_ID='))
    const script = cluster ? (process.getBuiltinModule('node:cluster') as unknown as Cluster).settings.exec : undefined
    const rec = track('child-process', this, patchedSpawn, {
      command: script ?? (Array.isArray(options?.args) ? options.args.join(' ') : String(options?.file ?? '')),
      cluster,
    })
    if (rec && options && Array.isArray(options.envPairs)) {
      // A marker in the environment is inherited by grandchildren and survives re-parenting.
      const seq = ++s.spawnSeq
      s.spawns.set(seq, rec)
      rec.info.seq = seq
      rec.owner.spawned = true
      const mark = `${markPrefix(s)}${seq}`
      const pairs = options.envPairs as string[]
      const at = pairs.findIndex((p) => p.startsWith(`${MARK_ENV}=`))
      if (at === -1) pairs.push(`${MARK_ENV}=${mark}`)
      else pairs[at] = `${pairs[at]},${mark}`
    }
    return spawn.call(this, options)
  }
}

function installWorker(): void {
  const wt = process.getBuiltinModule('node:worker_threads') as typeof WorkerNS
  const Base = wt.Worker
  const s = state()
  class Worker extends Base {
    constructor(...args: ConstructorParameters<typeof Base>) {
      super(...args)
      track('worker', this, Worker, { filename: String(args[0]) })
      s.workers.add(this)
      this.once('exit', () => s.workers.delete(this))
    }
  }
  ;(wt as any).Worker = Worker
}

function installFs(): void {
  const fs = process.getBuiltinModule('node:fs') as typeof FsNS
  const s = state()
  /** Open raw descriptors created in a bracket: fd → record. */
  const fds = s.fds
  const { resolve } = process.getBuiltinModule('node:path')
  const runners = (path: unknown): boolean => s.runnerFiles.size > 0 && s.runnerFiles.has(resolve(String(path)))
  const note = (fd: number, path: unknown, skip: Function) => {
    if (runners(path)) return
    const rec = track('file-descriptor', {}, skip, { fd, path: String(path) })
    if (rec) fds.set(fd, rec)
  }
  // A descriptor closed is done with: a bracket whose records are all done closes on the fast path (the module
  // loader's reads, opened and closed synchronously, are the common case).
  const forget = (fd: unknown) => {
    if (typeof fd !== 'number') return
    const rec = fds.get(fd)
    if (!rec) return
    fds.delete(fd)
    rec.done = true
  }

  const openSync = fs.openSync
  ;(fs as any).openSync = function patchedOpenSync(path: FsNS.PathLike, ...rest: any[]) {
    const fd = (openSync as AnyFn)(path, ...rest) as number
    note(fd, path, patchedOpenSync)
    return fd
  }
  // A file stream opens its descriptor on a later tick, from Node's internals: the stack that
  // says who made it is taken when the stream is created, and matched to the open by path.
  const streamStacks = new Map<unknown, StackHolder[]>()
  for (const name of ['createReadStream', 'createWriteStream'] as const) {
    const create = fs[name] as AnyFn
    ;(fs as any)[name] = function patchedCreateStream(path: unknown, ...rest: any[]) {
      const stream = create(path, ...rest)
      if (s.enabled && typeof (stream as { fd?: unknown }).fd !== 'number') {
        const list = streamStacks.get(stream.path) ?? []
        list.push(captureStack(patchedCreateStream, s.holder))
        streamStacks.set(stream.path, list)
      }
      return stream
    }
  }
  const takeStreamStack = (path: unknown): StackHolder | undefined => {
    const list = streamStacks.get(path)
    if (!list) return undefined
    const stack = list.shift()
    if (list.length === 0) streamStacks.delete(path)
    return stack
  }

  const open = fs.open
  ;(fs as any).open = function patchedOpen(path: FsNS.PathLike, ...rest: any[]) {
    const cbIndex = rest.findIndex((a) => typeof a === 'function')
    const streamStack = takeStreamStack(path)
    // The stack is taken now: in the callback it would only show Node's internals.
    const rec =
      cbIndex === -1 || runners(path)
        ? null
        : track('file-descriptor', {}, patchedOpen, { path: String(path), pending: true, stream: !!streamStack }, { stack: streamStack })
    if (rec) {
      const cb = rest[cbIndex] as AnyFn
      rest[cbIndex] = function (this: unknown, err: unknown, fd: number) {
        rec.info.pending = false
        if (!err && typeof fd === 'number') {
          rec.info.fd = fd
          fds.set(fd, rec)
        } else {
          rec.done = true
        }
        return cb.call(this, err, fd)
      }
    }
    return (open as AnyFn)(path, ...rest)
  }
  const closeSync = fs.closeSync
  ;(fs as any).closeSync = function patchedCloseSync(fd: number) {
    forget(fd)
    return closeSync(fd)
  }
  const close = fs.close
  ;(fs as any).close = function patchedClose(fd: number, ...rest: any[]) {
    forget(fd)
    return (close as AnyFn)(fd, ...rest)
  }

  const promises = fs.promises as any
  const openPromise = promises.open as AnyFn
  promises.open = async function patchedOpenPromise(path: FsNS.PathLike, ...rest: any[]) {
    // Capture the caller's stack before the first await loses it.
    const rec = track('file-descriptor', {}, patchedOpenPromise, { path: String(path), pending: true })
    try {
      const handle = await openPromise(path, ...rest)
      if (rec) {
        ;(rec as { ref: object }).ref = handle
        rec.info.fd = handle.fd
        rec.info.fileHandle = true
        rec.info.pending = false
      }
      return handle
    } catch (error) {
      if (rec) rec.done = true
      throw error
    }
  }

  // Directory handles (fs.Dir) hold a descriptor until closed (or iterated to the end).
  // Opened asynchronously: who asked, and from where, is noted at the call.
  type Known = { stack?: StackHolder; where?: Owner }
  const asked = (skip: Function): Known => (s.enabled ? { stack: captureStack(skip, s.holder), where: currentOwner(s) } : {})
  const trackDir = (dir: unknown, path: unknown, skip: Function, known: Known = {}) => {
    const rec = dir && typeof dir === 'object' ? track('file-descriptor', dir, skip, { path: String(path), dir: true }, known) : null
    // Node 20 and 22 keep a Dir's state in symbols; Node 24 in private fields, which nothing can
    // read: there its closing calls (and the end of an iteration, which closes it) note it.
    if (rec && !Object.getOwnPropertySymbols(dir).some((sym) => sym.description === 'kDirClosed')) {
      const d = dir as Record<string | symbol, AnyFn>
      const closed = () => (rec.info.closed = true)
      for (const name of ['close', 'closeSync']) {
        const fn = d[name]!
        d[name] = function (this: unknown, ...args: unknown[]) {
          closed()
          return fn.apply(this, args)
        }
      }
      const entries = d.entries!
      d.entries = d[Symbol.asyncIterator] = async function* (this: unknown) {
        try {
          yield* entries.call(this)
        } finally {
          closed()
        }
      }
    }
    return dir
  }
  const opendirSync = fs.opendirSync
  ;(fs as any).opendirSync = function patchedOpendirSync(path: FsNS.PathLike, ...rest: any[]) {
    return trackDir((opendirSync as AnyFn)(path, ...rest), path, patchedOpendirSync)
  }
  const opendir = fs.opendir
  ;(fs as any).opendir = function patchedOpendir(path: FsNS.PathLike, ...rest: any[]) {
    const cbIndex = rest.findIndex((a) => typeof a === 'function')
    if (cbIndex !== -1 && s.enabled) {
      const known = asked(patchedOpendir)
      const cb = rest[cbIndex] as AnyFn
      rest[cbIndex] = function (this: unknown, err: unknown, dir: unknown) {
        if (!err) trackDir(dir, path, patchedOpendir, known)
        return cb.call(this, err, dir)
      }
    }
    return (opendir as AnyFn)(path, ...rest)
  }
  const opendirPromise = promises.opendir as AnyFn
  promises.opendir = async function patchedOpendirPromise(path: FsNS.PathLike, ...rest: any[]) {
    const known = asked(patchedOpendirPromise)
    return trackDir(await opendirPromise(path, ...rest), path, patchedOpendirPromise, known)
  }

  // A watcher's listener answers to whoever made the watcher: a leaked watcher's events (and the
  // throttle timers a library starts from them) are not blamed on the test running when they come.
  const ownedListener = (args: any[], owner: Bracket | null | undefined): AnyFn | null => {
    const at = args.findIndex((a) => typeof a === 'function')
    if (at === -1) return null
    const listener = args[at] as AnyFn
    if (owner) args[at] = withOwner(s, listener, owner, true)
    return listener
  }
  const watch = fs.watch
  ;(fs as any).watch = function patchedWatch(...args: any[]) {
    const where = s.enabled ? currentOwner(s) : null
    ownedListener(args, where?.owner)
    const watcher = (watch as AnyFn)(...args) as FsNS.FSWatcher
    const rec = where && track('watcher', watcher, patchedWatch, { path: String(args[0]), closed: false, api: 'fs.watch' }, { where })
    if (rec) watcher.once('close', () => (rec.info.closed = true))
    return watcher
  }
  const watchFile = fs.watchFile
  ;(fs as any).watchFile = function patchedWatchFile(...args: any[]) {
    const where = s.enabled ? currentOwner(s) : null
    // Node keeps one poller per file: this call's own listener is what it answers for.
    const listener = ownedListener(args, where?.owner)
    const watcher = (watchFile as AnyFn)(...args) as FsNS.StatWatcher
    if (where) track('watcher', watcher, patchedWatchFile, { path: String(args[0]), api: 'fs.watchFile', listener }, { where })
    return watcher
  }
}

/** Installs every tracker once per thread, and the timers in this realm's globalThis. */
export function installHooks(): void {
  const s = state()
  // A vm context (Vitest's vm pools: one per test file) has a globalThis of its own.
  if (s.installed) return patchRealm()
  s.installed = true
  installTimers()
  installNet()
  installAgentsOnFirstUse()
  installDgram()
  installChildProcess()
  installWorker()
  installFs()
  patchRealm()
  // Named ESM imports of builtins (`import { setTimeout } from 'node:timers'`) see the wrappers.
  process.getBuiltinModule('node:module').syncBuiltinESMExports()
}
