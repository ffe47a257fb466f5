// HTTP and TCP probes for the scenarios. None of them rejects: each resolves with what happened, so a scenario can
// tell a response cut mid-body from a connection refused before anything was accepted.

import http, { type IncomingHttpHeaders } from 'node:http'
import net from 'node:net'

/** How one request ended. */
export interface Outcome {
  /**
   * `complete`: the whole response arrived. `cut`: the response began (status line received) but its body did not
   * finish. `failed`: no response at all (refused, reset before the status line, timed out).
   */
  readonly kind: 'complete' | 'cut' | 'failed'
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The error code for `cut` and `failed` (`ECONNRESET`, `ECONNREFUSED`, `TIMEOUT`, …). */
  readonly code: string
  /** The request went out on a kept-alive connection that had served an earlier request. */
  readonly reused: boolean
  /** When the status line arrived (`performance.now()`), or 0. */
  readonly respondedAt: number
  /** When the outcome was settled (`performance.now()`). */
  readonly at: number
}

export interface SendOptions {
  readonly method?: string
  readonly body?: string | Buffer
  readonly headers?: Readonly<Record<string, string>>
  /** A keep-alive agent; without one each request uses a fresh connection that closes after it. */
  readonly agent?: http.Agent
  /** Gives up after this long with code `TIMEOUT`. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  /** Called with the socket as soon as the request has one. */
  readonly onSocket?: (socket: net.Socket) => void
  /** Called once the request has been written out entirely. */
  readonly onSent?: () => void
}

export function send(url: string, options: SendOptions = {}): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let status = 0
    let headers: IncomingHttpHeaders = {}
    let respondedAt = 0
    let body = ''
    let settled = false
    const finish = (kind: Outcome['kind'], code = '') => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({ kind, status, headers, body, code, reused: req.reusedSocket, respondedAt, at: performance.now() })
    }
    const req = http.request(url, {
      method: options.method ?? 'GET',
      agent: options.agent ?? false,
      headers: options.body === undefined ? options.headers : { 'Content-Length': String(Buffer.byteLength(options.body)), ...options.headers },
    })
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' }))
    }, options.timeoutMs ?? 10_000)
    const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { code: 'ABORTED' }))
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, { once: true })
    if (options.onSocket) req.once('socket', options.onSocket)
    req.on('error', (error: NodeJS.ErrnoException) => finish(status === 0 ? 'failed' : 'cut', error.code ?? error.message))
    req.on('response', (res) => {
      status = res.statusCode ?? 0
      headers = res.headers
      respondedAt = performance.now()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        const declared = res.headers['content-length']
        const whole = res.complete && (declared === undefined || Number(declared) === Buffer.byteLength(body))
        finish(whole ? 'complete' : 'cut', whole ? '' : 'SHORT_BODY')
      })
      res.on('error', (error: NodeJS.ErrnoException) => finish('cut', error.code ?? error.message))
      res.on('close', () => finish(res.complete ? 'complete' : 'cut', 'ABORTED_MID_BODY'))
    })
    req.end(options.body, () => options.onSent?.())
  })
}

/** Resolves `'connected'` (and closes the connection) or the connect error code (`ECONNREFUSED`). */
export function connectOutcome(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host)
    socket.once('connect', () => {
      socket.destroy()
      resolve('connected')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
  })
}

/**
 * Reads a text/event-stream response: resolves `first` at the first event, `ended` when the stream ends, with every
 * event seen and whether it ended cleanly.
 */
export function openEventStream(
  url: string,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): { first: Promise<string | undefined>; ended: Promise<{ clean: boolean; events: string[]; code: string }>; close(): void } {
  const events: string[] = []
  let resolveFirst!: (name: string | undefined) => void
  const first = new Promise<string | undefined>((resolve) => (resolveFirst = resolve))
  let req: http.ClientRequest | undefined
  const ended = new Promise<{ clean: boolean; events: string[]; code: string }>((resolve) => {
    let settled = false
    const finish = (clean: boolean, code = '') => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolveFirst(undefined)
      resolve({ clean, events, code })
    }
    const timer = setTimeout(() => req?.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })), options.timeoutMs)
    const onAbort = () => req?.destroy(Object.assign(new Error('aborted'), { code: 'ABORTED' }))
    options.signal?.addEventListener('abort', onAbort, { once: true })
    req = http.get(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buffer += chunk
        let at: number
        while ((at = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, at)
          buffer = buffer.slice(at + 2)
          const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
          events.push(name)
          if (events.length === 1) resolveFirst(name)
        }
      })
      res.on('end', () => finish(res.complete))
      res.on('error', (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message))
      res.on('close', () => finish(res.complete, 'ABORTED_MID_BODY'))
    })
    req.on('error', (error: NodeJS.ErrnoException) => finish(false, error.code ?? error.message))
  })
  return { first, ended, close: () => req?.destroy() }
}
