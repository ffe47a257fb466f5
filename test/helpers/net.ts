// Small socket helpers for tests.
import net from 'node:net'

/** Resolves true when nothing accepts a connection on 127.0.0.1:port. */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}
