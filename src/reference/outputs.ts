// Where the reference server (or its cluster primary) writes: log lines, lifecycle messages, the ready announcement;
// and its tie to the parent that started it. Kept apart from the server, so that a cluster primary, which serves
// nothing itself, does not load node:http and the server's modules.
import type { Logger } from '../lifecycle/logger.js'
import type { Lifecycle } from '../lifecycle/process.js'

/** What the server tells its parent once every listener is up (and again after each restart). */
export interface ReadyAnnouncement {
  readonly type: 'leakguard:ready'
  readonly pid: number
  /** 1 at start, +1 per in-process restart: the database connection is new each time. */
  readonly generation: number
  readonly ports: { readonly api: number; readonly admin: number; readonly metrics: number }
  /** The worker child's pid; 0 from a cluster primary, whose workers each have their own. */
  readonly workerPid: number
  /** With `WORKERS` > 1: the pids of the cluster workers sharing the ports (`pid` is then the primary's). */
  readonly workers?: readonly number[]
}

export interface ReferenceServerOptions {
  /**
   * Where log lines go, one call per line, without the trailing newline.
   *
   * @default a line on stderr
   * @example runReferenceServer(config, { output: (line) => lines.push(line) })
   */
  readonly output?: (line: string) => void
  /**
   * Receives the ready announcement.
   *
   * @default an IPC message when the process has a parent channel (`process.send`), else one JSON line on stdout
   * @example runReferenceServer(config, { announce: (message) => console.log(message.ports.api) })
   */
  readonly announce?: (message: ReadyAnnouncement) => void
}

/** @internal Where the reference server (or its cluster primary) writes: log lines, lifecycle messages, readiness. */
export function outputsOf(options: ReferenceServerOptions): {
  log: (line: string) => void
  logger: Logger
  announce: (message: ReadyAnnouncement) => void
} {
  const output = options.output ?? ((line: string) => process.stderr.write(`${line}\n`))
  return {
    log: (line) => output(`[reference] ${line}`),
    logger: { error: output, warn: output, info: output },
    announce: options.announce ?? announceToParent,
  }
}

/**
 * Started by a parent with an IPC channel (the scenario runner): if it dies, nobody would ever stop us.
 * @internal
 */
export function closeWhenParentGoes(lifecycle: Lifecycle, log: (line: string) => void): void {
  if (typeof process.send !== 'function') return
  const onParentGone = () => {
    log('the parent process went away; shutting down')
    void lifecycle.close('parent disconnected')
  }
  process.once('disconnect', onParentGone)
  // A 'disconnect' listener keeps the channel, and so the process, alive: it goes as soon as shutdown begins.
  lifecycle.signal.addEventListener('abort', () => process.off('disconnect', onParentGone), { once: true })
}

function announceToParent(message: ReadyAnnouncement): void {
  if (typeof process.send === 'function' && process.connected) process.send(message)
  else process.stdout.write(`${JSON.stringify(message)}\n`)
}
