// What a tracked resource is, in plain words: alive or not, its details, and how to release it.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type * as HttpNS from 'node:http'
import type * as HttpsNS from 'node:https'
import type * as TlsNS from 'node:tls'
import type * as NetNS from 'node:net'
import { state, type ResourceRecord } from './registry.js'
import type { Leak, LeakKind } from './types.js'

const require = createRequire(import.meta.url)

export type Liveness = 'yes' | 'no' | 'maybe'

export interface Described {
  readonly description: string
  readonly hint: string
  readonly details: Record<string, string | number | boolean | null>
}

type Timer = NodeJS.Timeout & { _destroyed?: boolean }

const HAS_PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd')

/** Own symbol of a Node or undici object, found by its description (they are not exported). */
function symbolOf(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((sym) => sym.description === description)
}

type Handle = { fd?: number } | null | undefined
const handleOf = (socket: NetNS.Socket): Handle => (socket as unknown as { _handle?: Handle })._handle

/** Free in the agent's pool: the socket itself, or a facade sharing its handle (an interceptor's). */
function isFree(agent: HttpNS.Agent, socket: NetNS.Socket): boolean {
  const handle = handleOf(socket)
  for (const list of Object.values(agent.freeSockets ?? {})) {
    if (list?.some((free) => free === socket || (handle && handleOf(free) === handle))) return true
  }
  return false
}

/** Whether a socket's handle has an OS socket behind it (Windows does not say: -1 always). */
const CAN_READ_FD = process.platform !== 'win32'

/**
 * An idle connection in a keep-alive pool answers to its pool: it is this bracket's leak only when
 * the pool was made in this bracket. Node's agents (global or not) say which sockets are free; a
 * pool made before leakguard armed (the global agents) is never a test's.
 */
function idleInOlderPool(rec: ResourceRecord, socket: NetNS.Socket): boolean {
  const s = state()
  const http = require('node:http') as typeof HttpNS
  const https = require('node:https') as typeof HttpsNS
  const made = s.socketAgent.get(socket) as HttpNS.Agent | undefined
  const agent = made && isFree(made, socket) ? made : [http.globalAgent, https.globalAgent].find((a) => isFree(a, socket))
  if (agent) return s.agentBirth.get(agent) !== rec.owner
  // undici (fetch's global dispatcher, or undici's own Agent/Pool/Client) unrefs an idle connection
  // (HTTP/1 marks it "no ref"; an idle HTTP/2 session unrefs its socket). Which pool holds it is
  // not visible: it answers as an older pool.
  const noRef = symbolOf(socket, 'no ref')
  if (noRef && (socket as unknown as Record<symbol, unknown>)[noRef] === true) return true
  return !isRefed(socket) && /undici/.test(rec.stack.stack ?? '')
}

/** Whether the socket keeps the event loop alive: a TLS socket's handle asks the TCP one under it. */
function isRefed(socket: NetNS.Socket): boolean {
  const handle = handleOf(socket) as { hasRef?(): boolean; _parent?: { hasRef?(): boolean } } | null | undefined
  const hasRef = handle?.hasRef ? handle : handle?._parent
  return hasRef?.hasRef?.() ?? true
}

/** A dgram socket's handle, null once closed (the 'close' event comes a tick later). */
function udpOpen(socket: object): boolean | undefined {
  const sym = symbolOf(socket, 'state symbol')
  if (!sym) return undefined
  return Boolean((socket as Record<symbol, { handle?: unknown } | undefined>)[sym]?.handle)
}

/**
 * Whether the resource still holds what it was created for, read from its own state at the moment
 * of the check (never from whether an event has arrived yet). `maybe`: about to change (a pending
 * open or listen).
 */
export function liveness(rec: ResourceRecord, unrefTimers: boolean): Liveness {
  const ref = rec.ref as any
  switch (rec.kind) {
    case 'timer': {
      const t = ref as Timer
      if (t._destroyed) return 'no'
      return t.hasRef() || unrefTimers ? 'yes' : 'no'
    }
    case 'server':
      if ((ref as NetNS.Server).listening) return 'yes'
      return rec.info.listening ? 'no' : 'maybe'
    case 'socket': {
      if (rec.info.udp) return (udpOpen(ref) ?? !rec.info.closed) ? 'yes' : 'no'
      const socket = ref as NetNS.Socket
      // No handle, or a handle with no descriptor: no port held (destroyed, or an interceptor's
      // mock socket that never connects). Still looking up its address: about to connect, or not.
      const handle = handleOf(socket)
      if (socket.destroyed || !handle) return 'no'
      if (CAN_READ_FD && typeof handle.fd === 'number' && handle.fd < 0) return socket.connecting ? 'maybe' : 'no'
      if (rec.info.accepted) return 'yes'
      return idleInOlderPool(rec, socket) ? 'no' : 'yes'
    }
    case 'child-process':
      return ref.pid !== undefined && ref.exitCode === null && ref.signalCode === null ? 'yes' : 'no'
    case 'worker':
      return ref.threadId !== -1 ? 'yes' : 'no'
    case 'file-descriptor': {
      if (rec.info.pending) return 'maybe'
      if (rec.info.dir) {
        const closed = symbolOf(ref, 'kDirClosed')
        if (closed) return ref[closed] === false ? 'yes' : 'no'
        return rec.info.closed ? 'no' : 'yes'
      }
      if (rec.info.fileHandle) return ref.fd !== -1 ? 'yes' : 'no'
      const fd = rec.info.fd as number
      if (state().fds.get(fd) !== rec) return 'no'
      return !HAS_PROC_FD || existsSync(`/proc/self/fd/${fd}`) ? 'yes' : 'no'
    }
    case 'watcher':
      if (rec.info.api === 'fs.watchFile') {
        // Node keeps one poller per file: this record answers for its own listener only.
        const listener = rec.info.listener
        return typeof listener === 'function' && ref.listeners('change').includes(listener) ? 'yes' : 'no'
      }
      // fs.watch: close() drops the handle; the recursive watcher (no handle) says so by event.
      if ('_handle' in ref) return ref._handle ? 'yes' : 'no'
      return rec.info.closed ? 'no' : 'yes'
    default:
      return 'no'
  }
}

/** When a timer that is about to fire is due, so a settle can wait exactly that long. */
export function dueAt(rec: ResourceRecord): number | null {
  return rec.kind === 'timer' && !rec.info.repeat ? rec.createdAt + (rec.info.delay as number) : null
}

function serverLabel(server: NetNS.Server): string {
  const https = require('node:https') as typeof HttpsNS
  const http = require('node:http') as typeof HttpNS
  const tls = require('node:tls') as typeof TlsNS
  if (server instanceof https.Server) return 'HTTPS server'
  if (server instanceof http.Server) return 'HTTP server'
  if (server instanceof tls.Server) return 'TLS server'
  return 'TCP server'
}

function shorten(text: string, max = 120): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine
}

function hostPort(address: string | undefined, port: number | undefined): string {
  if (!address) return `port ${port ?? '?'}`
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}

export function describe(rec: ResourceRecord): Described {
  const ref = rec.ref as any
  switch (rec.kind) {
    case 'timer': {
      const delay = rec.info.delay as number
      const unref = !(ref as Timer).hasRef()
      return rec.info.repeat
        ? {
            description: `setInterval every ${delay} ms${unref ? " (unref'd)" : ''}`,
            hint: 'Clear it with `clearInterval(timer)` when the test is done.',
            details: { delay, repeat: true, unref },
          }
        : {
            description: `setTimeout of ${delay} ms${unref ? " (unref'd)" : ''}`,
            hint: 'Clear it with `clearTimeout(timer)`, or await what it waits for before the test ends.',
            details: { delay, repeat: false, unref },
          }
    }
    case 'server': {
      const server = ref as NetNS.Server
      const label = serverLabel(server)
      const address = server.address()
      const details: Record<string, string | number | null> =
        typeof address === 'string'
          ? { path: address }
          : { address: address?.address ?? null, port: address?.port ?? null }
      const where =
        typeof address === 'string' ? `pipe ${address}` : hostPort(address?.address, address?.port)
      const http = label.startsWith('HTTP')
      return {
        description: `${label} listening on ${where}`,
        hint: http
          ? 'Close the server with `server.close()` (and `server.closeAllConnections()` for keep-alive clients), and await its callback.'
          : 'Close the server with `server.close()` and await its callback.',
        details,
      }
    }
    case 'socket': {
      if (rec.info.udp) {
        let bound: string | null = null
        try {
          const a = ref.address()
          bound = hostPort(a.address, a.port)
        } catch {
          // Not bound yet.
        }
        return {
          description: bound ? `UDP socket bound to ${bound}` : 'UDP socket (not bound)',
          hint: 'Close it with `socket.close()`.',
          details: { protocol: 'udp', address: bound },
        }
      }
      const socket = ref as NetNS.Socket
      if (rec.info.accepted) {
        const at = rec.info.on as NetNS.AddressInfo | string | null
        const on = at && typeof at === 'object' ? ` on ${hostPort(at.address, at.port)}` : ''
        const from = socket.remoteAddress ? ` from ${hostPort(socket.remoteAddress, socket.remotePort)}` : ''
        return {
          description: `connection accepted by the test's server${on}${from}, still open`,
          hint: "Close the server's connections too: `server.closeAllConnections()` for an HTTP server, or destroy each socket from its 'connection' event.",
          details: { accepted: true, address: socket.remoteAddress ?? null, port: socket.remotePort ?? null, localPort: socket.localPort ?? null },
        }
      }
      const tls = (require('node:tls') as typeof TlsNS).TLSSocket
      const label = socket instanceof tls ? 'TLS connection' : 'TCP connection'
      const pooled = socket.listenerCount('agentRemove') > 0 && !(socket as any)._httpMessage
      const remote = socket.remoteAddress
      const target = remote
        ? hostPort(remote, socket.remotePort)
        : ((socket as any)._pipeName ?? (socket.connecting ? 'a peer (still connecting)' : 'a peer'))
      const isPipe = !remote && typeof (socket as any)._pipeName === 'string'
      return {
        description: pooled
          ? `idle keep-alive ${label} to ${target} kept in an http.Agent pool`
          : `${isPipe ? 'pipe connection' : label} to ${isPipe ? (socket as any)._pipeName : target}`,
        hint: pooled
          ? 'Destroy the agent with `agent.destroy()` when the test is done, or pass `agent: false`.'
          : 'Close it with `socket.end()` and wait for its \'close\' event, or `socket.destroy()`.',
        details: remote
          ? { address: remote, port: socket.remotePort ?? null, localPort: socket.localPort ?? null }
          : { path: (socket as any)._pipeName ?? null },
      }
    }
    case 'child-process': {
      const command = shorten(String(rec.info.command ?? ''))
      const cluster = rec.info.cluster === true
      return {
        description: `${cluster ? 'cluster worker' : 'child process'} ${ref.pid} (${command})`,
        hint: cluster
          ? "Stop the workers with `cluster.disconnect()` and await each worker's 'exit' event."
          : "Stop it with `child.kill()` and await its 'exit' event.",
        details: { pid: ref.pid ?? null, command },
      }
    }
    case 'worker': {
      const filename = shorten(String(rec.info.filename ?? ''), 80)
      return {
        description: `worker thread ${ref.threadId} (${filename})`,
        hint: 'Stop it with `await worker.terminate()`.',
        details: { threadId: ref.threadId, filename },
      }
    }
    case 'file-descriptor': {
      const path = String(rec.info.path ?? '?')
      if (rec.info.dir) {
        return {
          description: `directory handle (fs.Dir) open on ${path}`,
          hint: 'Close it with `await dir.close()` (or `dir.closeSync()`), or iterate it to the end with `for await`.',
          details: { path, dir: true },
        }
      }
      const fd = (rec.info.fileHandle ? ref.fd : rec.info.fd) as number
      return rec.info.fileHandle
        ? {
            description: `FileHandle (fd ${fd}) open on ${path}`,
            hint: 'Close it with `await handle.close()`.',
            details: { fd, path },
          }
        : rec.info.stream
          ? {
              description: `file stream (fd ${fd}) open on ${path}`,
              hint: "Close it with `stream.destroy()`, or read or write it to the end and await its 'close' event.",
              details: { fd, path, stream: true },
            }
          : {
              description: `file descriptor ${fd} open on ${path}`,
              hint: 'Close it with `fs.closeSync(fd)`.',
              details: { fd, path },
            }
    }
    case 'watcher': {
      const path = String(rec.info.path ?? '?')
      return rec.info.api === 'fs.watchFile'
        ? {
            description: `fs.watchFile poller on ${path}`,
            hint: `Stop it with \`fs.unwatchFile(${JSON.stringify(path)})\`.`,
            details: { path, api: 'fs.watchFile' },
          }
        : {
            description: `fs.watch watcher on ${path}`,
            hint: 'Close it with `watcher.close()`.',
            details: { path, api: 'fs.watch' },
          }
    }
    default:
      return { description: 'resource', hint: '', details: {} }
  }
}

export function makeLeak(
  kind: LeakKind,
  d: Described,
  site: string | null,
  extra: Partial<Pick<Leak, 'terminated' | 'siteFunction'>> = {},
): Leak {
  return { kind, description: d.description, site, hint: d.hint, details: d.details, ...extra }
}
