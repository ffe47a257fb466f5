import { createLifecycleServer } from 'leakguard/lifecycle'

/** A production server: start resolves when listening, stop when every socket is closed. */
export function createServer(options: { port?: number; host?: string } = {}) {
  let requests = 0
  return createLifecycleServer({
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    // A fresh context on every start and restart; destroy() runs when the server stops.
    createContext: () => ({ startedAt: Date.now(), destroy() {} }),
    healthChecks: { database: async () => true },
    logger: false,
    handler: (_req, res, { context }) => {
      requests++
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ requests, startedAt: context.startedAt }))
    },
  })
}
