import express from 'express'

export function createApp() {
  const users: { id: number; name: string }[] = []
  return express()
    .use(express.json())
    .get('/users', (_req, res) => {
      res.json(users)
    })
    .post('/users', (req, res) => {
      const user = { id: users.length + 1, name: String(req.body.name) }
      users.push(user)
      res.status(201).json(user)
    })
}
