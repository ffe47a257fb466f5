import type { IncomingMessage, ServerResponse } from 'node:http'

export function createApp() {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/health') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ status: 'ok' }))
      return
    }
    res.statusCode = 404
    res.end()
  }
}
