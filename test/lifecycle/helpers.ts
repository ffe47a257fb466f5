// Small HTTP and stream helpers for the lifecycle tests; nothing here outlives the call that uses it.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import type { Readable } from 'node:stream'

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** GET with a fresh connection (`agent: false`) unless an agent is given; resolves with the whole body. */
export function get(url: string, options: { agent?: http.Agent; onSocket?: (socket: net.Socket) => void } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: options.agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    if (options.onSocket) req.once('socket', options.onSocket)
    req.on('error', reject)
  })
}

/** Resolves with the error code of a TCP connect to 127.0.0.1:port, or 'connected' (and closes it). */
export function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

/** A promise and its resolve function, for gates a handler waits on. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Collects a stream's text and lets a test wait for a given piece of it: the ready handshake. */
export function collect(stream: Readable): { readonly text: () => string; waitFor: (needle: string | RegExp) => Promise<string> } {
  let text = ''
  let ended = false
  const waiters = new Set<() => void>()
  stream.once('end', () => (ended = true))
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    text += chunk
    for (const check of [...waiters]) check()
  })
  return {
    text: () => text,
    waitFor(needle) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = typeof needle === 'string' ? (text.includes(needle) ? needle : null) : text.match(needle)?.[0]
          if (match != null) {
            cleanup()
            resolve(match)
          }
        }
        const onEnd = () => {
          cleanup()
          reject(new Error(`stream ended before ${String(needle)} appeared; got:\n${text}`))
        }
        const cleanup = () => {
          waiters.delete(check)
          stream.off('end', onEnd)
        }
        waiters.add(check)
        stream.once('end', onEnd)
        check()
        if (ended && waiters.has(check)) onEnd()
      })
    },
  }
}

/**
 * Resolves like `promise`, or rejects with `message` after `ms`: a bound on what a broken build would wait for
 * for ever, so the test fails with a reason (and its `finally` still cleans up) instead of hitting the test timeout.
 */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

/** Dead means gone, or a zombie waiting for a reaper that is not us. */
export function isDead(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true
  } catch {
    return true
  }
}

/**
 * Whether the pid is dead within `ms`. A process's pipes close as it exits, a moment before the kernel makes it a
 * zombie: a check right after a 'close' can see it still running.
 */
export async function diesWithin(pid: number, ms = 1_000): Promise<boolean> {
  const deadline = performance.now() + ms
  while (!isDead(pid)) {
    if (performance.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}
