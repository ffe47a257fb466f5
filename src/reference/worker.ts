// The reference server's worker child: computes jobs sent over IPC. It ends on SIGTERM, and on its own when the
// parent goes away (the IPC channel disconnects), so even a parent that was killed leaves no worker behind.

// From its own module, not the `lifecycle` entry: this process has no server, and needs neither http nor cluster.
import { createLifecycle } from '../lifecycle/process.js'

/** Messages between the server and its worker. */
export type WorkerRequest = { readonly type: 'job'; readonly id: number; readonly n: number }
export type WorkerReply =
  | { readonly type: 'worker:ready'; readonly pid: number }
  | { readonly type: 'result'; readonly id: number; readonly value: number }

if (typeof process.send !== 'function') {
  process.stderr.write('[reference worker] must be started by the reference server, with an IPC channel.\n')
  process.exitCode = 2
} else {
  const send = (reply: WorkerReply) => process.send!(reply)
  const onMessage = (message: WorkerRequest) => {
    if (message?.type !== 'job') return
    let value = 0
    for (let i = 1; i <= message.n; i++) value += i * i
    if (process.connected) send({ type: 'result', id: message.id, value })
  }
  process.on('message', onMessage)

  if (process.env.WORKER_IGNORE_SIGTERM === '1') {
    // Test hook: a stuck child, the case the registry's SIGKILL escalation exists for.
    process.on('SIGTERM', () => process.stderr.write('[reference worker] ignoring SIGTERM (WORKER_IGNORE_SIGTERM=1)\n'))
    setInterval(() => {}, 60_000)
  } else {
    const lifecycle = createLifecycle({ logger: false })
    lifecycle.handleSignals({ signals: ['SIGTERM', 'SIGINT'], timeout: 2_000 })
    lifecycle.onClose(() => {
      process.off('message', onMessage)
      if (process.connected) process.disconnect()
    })
    process.once('disconnect', () => void lifecycle.close('parent disconnected'))
  }
  send({ type: 'worker:ready', pid: process.pid })
}
