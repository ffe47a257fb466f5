// What keeps Vitest's main process alive after a run (globalSetup, the config, plugins), and where
// it was created: why-is-node-running, but from diagnostics_channel, which costs nothing per
// promise. Printed when Vitest's `teardownTimeout` runs out (the reporter's `onProcessTimeout`).
import dc from 'node:diagnostics_channel'
import { relative } from 'node:path'
import { captureStack, parseFrames, userFrame } from '../detector/stack.js'

type Kind = 'server' | 'socket' | 'child-process' | 'worker'

interface Record_ {
  readonly kind: Kind
  readonly ref: WeakRef<object>
  readonly stack: { stack?: string }
  closed: boolean
}

const CHANNELS: readonly [string, Kind, string][] = [
  ['tracing:net.server.listen:asyncStart', 'server', 'server'],
  ['net.client.socket', 'socket', 'socket'],
  ['udp.socket', 'socket', 'socket'],
  ['child_process', 'child-process', 'process'],
  ['worker_threads', 'worker', 'worker'],
]

function hasRef(obj: any): boolean {
  const handle = obj?._handle
  return typeof handle?.hasRef === 'function' ? handle.hasRef() !== false : true
}

function alive(rec: Record_): object | null {
  const obj = rec.ref.deref() as any
  if (!obj || rec.closed) return null
  switch (rec.kind) {
    case 'server':
      return obj.listening && hasRef(obj) ? obj : null
    case 'socket':
      if (typeof obj.destroyed === 'boolean') return !obj.destroyed && hasRef(obj) ? obj : null
      return obj // dgram: closed is tracked with its 'close' event
    case 'child-process':
      return obj.exitCode === null && obj.signalCode === null && hasRef(obj) ? obj : null
    case 'worker':
      return obj.threadId !== -1 ? obj : null
  }
}

function address(obj: any): string {
  try {
    const a = obj.address?.()
    if (a && typeof a === 'object') return `${a.address}:${a.port}`
    if (typeof a === 'string') return a
  } catch {
    // An unbound dgram socket throws; it has no address to show.
  }
  return 'an unknown address'
}

function describe(rec: Record_, obj: any): { description: string; hint: string } {
  switch (rec.kind) {
    case 'server':
      return {
        description: `${obj.constructor?.name === 'Server' && typeof obj.setTimeout === 'function' ? 'HTTP' : 'TCP'} server listening on ${address(obj)}`,
        hint: 'Close the server with `server.close()` in the globalSetup teardown.',
      }
    case 'socket':
      return typeof obj.destroyed === 'boolean'
        ? { description: `TCP connection to ${obj.remoteAddress ?? '?'}:${obj.remotePort ?? '?'}`, hint: 'End the connection with `socket.destroy()`.' }
        : { description: `UDP socket bound to ${address(obj)}`, hint: 'Close it with `socket.close()`.' }
    case 'child-process':
      return {
        description: `child process ${obj.pid} (${(obj.spawnargs ?? []).join(' ')})`,
        hint: 'Stop it with `child.kill()` and wait for its `exit` event.',
      }
    case 'worker':
      return { description: `worker thread ${obj.threadId}`, hint: 'Stop it with `await worker.terminate()`.' }
  }
}

export interface KeepAliveEntry {
  readonly kind: Kind | 'timer' | 'other'
  readonly description: string
  /** `path:line:col` (relative to the root when inside it), or null when unknown. */
  readonly site: string | null
  readonly hint: string
}

/** Records the resources the main process creates from `start()` on, with their creation stack. */
export class MainProcessTracker {
  private readonly records: Record_[] = []
  private readonly subscriptions: [string, (message: unknown) => void][] = []

  start(): void {
    if (this.subscriptions.length > 0) return
    for (const [channel, kind, field] of CHANNELS) {
      const onMessage = (message: unknown): void => {
        const obj = (message as Record<string, unknown> | null)?.[field]
        if (!obj || typeof obj !== 'object') return
        const rec: Record_ = { kind, ref: new WeakRef(obj), stack: captureStack(onMessage), closed: false }
        // dgram sockets have no public "closed" state; their 'close' event is the only sign.
        if (channel === 'udp.socket') (obj as NodeJS.EventEmitter).once?.('close', () => (rec.closed = true))
        this.records.push(rec)
        if (this.records.length > 1000) this.prune()
      }
      dc.subscribe(channel, onMessage)
      this.subscriptions.push([channel, onMessage])
    }
  }

  /** Stops recording; what was recorded stays available to `keptAlive()`. Safe to call twice. */
  stop(): void {
    for (const [channel, onMessage] of this.subscriptions.splice(0)) dc.unsubscribe(channel, onMessage)
  }

  /**
   * Formats the stacks of what is still alive. Call it at the end of the run: Vitest's module
   * runner maps stack frames to the sources of globalSetup files only until it closes.
   */
  fixSites(): void {
    this.prune()
    for (const rec of this.records) void rec.stack.stack
  }

  private prune(): void {
    for (let i = this.records.length - 1; i >= 0; i--) if (!alive(this.records[i]!)) this.records.splice(i, 1)
  }

  /** What holds the event loop now: tracked resources with their site, then the rest by type. */
  keptAlive(root: string): KeepAliveEntry[] {
    const entries: KeepAliveEntry[] = []
    const counted = new Map<string, number>()
    for (const rec of this.records) {
      const obj = alive(rec)
      if (!obj) continue
      const frame = userFrame(parseFrames(rec.stack.stack))
      const site = frame ? `${shortPath(frame.file, root)}:${frame.line}:${frame.col}` : null
      entries.push({ kind: rec.kind, site, ...describe(rec, obj) })
      const wrap = WRAP_OF[rec.kind === 'socket' && typeof (obj as any).destroyed !== 'boolean' ? 'udp' : rec.kind]
      counted.set(wrap, (counted.get(wrap) ?? 0) + 1)
    }
    const active = new Map<string, number>()
    for (const type of process.getActiveResourcesInfo()) active.set(type, (active.get(type) ?? 0) + 1)
    // The process's own stdio is not what keeps it alive, though Vitest leaves its pipes ref'd.
    const handles = new Set((process as unknown as { _getActiveHandles?(): unknown[] })._getActiveHandles?.() ?? [])
    for (const stream of [process.stdin, process.stdout, process.stderr]) {
      const wrap = (stream as unknown as { _handle?: object | null })._handle?.constructor?.name
      if (wrap && handles.has(stream)) counted.set(`${wrap}Wrap`, (counted.get(`${wrap}Wrap`) ?? 0) + 1)
    }
    for (const [type, n] of active) {
      const rest = n - (counted.get(type) ?? 0)
      if (rest <= 0 || IGNORED.has(type)) continue
      if (type === 'Timeout') {
        entries.push({
          kind: 'timer',
          description: `${rest} timer${rest === 1 ? '' : 's'} (setTimeout/setInterval)`,
          site: null,
          hint: 'Clear them with `clearTimeout()`/`clearInterval()` in the globalSetup teardown (leakguard records timer sites inside test workers only).',
        })
      } else {
        entries.push({
          kind: 'other',
          description: `${rest} active ${type} resource${rest === 1 ? '' : 's'}`,
          site: null,
          hint: 'Created before the run started (config file, plugin) or by an API leakguard does not track.',
        })
      }
    }
    return entries
  }
}

const WRAP_OF: Record<string, string> = {
  server: 'TCPServerWrap',
  socket: 'TCPSocketWrap',
  udp: 'UDPWrap',
  'child-process': 'ProcessWrap',
  worker: 'Worker',
}

// The process's own stdio and the pending writes to it are not what keeps it alive.
const IGNORED = new Set(['TTYWrap', 'FSReqCallback', 'WriteWrap', 'ShutdownWrap', 'FileHandleCloseReq'])

function shortPath(file: string, root: string): string {
  const rel = relative(root, file)
  return rel && !rel.startsWith('..') ? rel.split('\\').join('/') : file
}

/** The lines printed when Vitest's teardown timed out; empty when nothing is found. */
export function formatKeptAlive(entries: readonly KeepAliveEntry[]): string[] {
  if (entries.length === 0) return []
  const lines = ['[leakguard] Vitest\'s main process is still kept alive after the run by:']
  for (const e of entries) {
    lines.push(`  - ${e.kind}: ${e.description}`)
    lines.push(`    created at ${e.site ?? 'an unknown place'}`)
    lines.push(`    ${e.hint}`)
  }
  lines.push(
    '  Main-process resources come from globalSetup, the config file or plugins. Test workers are stopped by Vitest; what they leaked is reported per test above.',
  )
  return lines
}
