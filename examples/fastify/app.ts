import Fastify from 'fastify'

export function createApp() {
  const app = Fastify()
  app.get('/hello/:name', async (req) => ({ hello: (req.params as { name: string }).name }))
  return app
}
