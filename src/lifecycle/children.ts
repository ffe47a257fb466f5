// Child processes that die with their parent's shutdown: each runs in its own process group, and closing it
// signals the whole group (grandchildren included), escalates to SIGKILL, and waits for 'close'. A forced exit that
// skips the closers (a second Ctrl-C, the hard deadline) still SIGKILLs every live group on the way out.

import type { ChildProcess, SpawnOptions } from 'node:child_process'
import { createLog, type LoggerOption } from './logger.js'

/** How a child ended. Judge it by `exitCode` / `signalCode`; `child.killed` only says a signal was sent. */
export interface ChildExit {
  readonly pid: number | undefined
  /** The exit code, or `null` when a signal ended the process. */
  readonly exitCode: number | null
  /** The signal that ended the process (`'SIGTERM'`, `'SIGKILL'`), or `null` when it exited by itself. */
  readonly signalCode: NodeJS.Signals | null
  /** `true` when the group had to be sent SIGKILL because SIGTERM was not enough within `timeout`. */
  readonly forced: boolean
}

export interface CloseChildOptions {
  /**
   * How long to wait after SIGTERM before sending SIGKILL to the group, in milliseconds.
   *
   * @default 5_000
   * @example await registry.closeAll({ timeout: 2_000 })
   */
  readonly timeout?: number
}

export interface ChildRegistryOptions {
  /**
   * Where escalations (SIGKILL) and stuck children are reported. `false` prints nothing.
   *
   * @default console (every level on stderr)
   * @example createChildRegistry({ logger: false })
   */
  readonly logger?: LoggerOption
}

export interface ChildRegistry {
  /**
   * `child_process.spawn` with `detached: true` (the child leads its own process group, so a signal to the
   * group reaches its descendants too), tracked until it emits 'close'. Options other than `detached` pass
   * through unchanged. A child spawned this way stays referenced: the parent waits for it unless you close it.
   * While any tracked child is alive the registry keeps one `process.on('exit')` listener that SIGKILLs each live
   * child's group, so a `process.exit()` that skips your closers leaves no orphans; it is removed with the last child.
   */
  spawn(command: string, args?: readonly string[], options?: Omit<SpawnOptions, 'detached'>): ChildProcess
  /** SIGTERM to the child's group, SIGKILL after `timeout`, then waits for 'close'. Safe to call repeatedly. */
  close(child: ChildProcess, options?: CloseChildOptions): Promise<ChildExit>
  /** Closes every tracked child at once. Resolves when each has emitted 'close'. */
  closeAll(options?: CloseChildOptions): Promise<ChildExit[]>
  /** How many spawned children have not emitted 'close' yet. */
  readonly size: number
}

interface Tracked {
  readonly closed: Promise<void>
  closing?: Promise<ChildExit>
  forced: boolean
}

/**
 * Creates a registry of child processes that can all be shut down together.
 *
 * @example
 * const children = createChildRegistry()
 * const worker = children.spawn(process.execPath, ['worker.js'], { stdio: 'inherit' })
 * lifecycle.onClose(() => children.closeAll({ timeout: 5_000 }), { name: 'child processes' })
 */
export function createChildRegistry(options: ChildRegistryOptions = {}): ChildRegistry {
  const log = createLog(options.logger)
  const tracked = new Map<ChildProcess, Tracked>()
  // Remembered after 'close' so close() on a finished child still answers, without keeping the child in `size`.
  const finished = new WeakMap<ChildProcess, Tracked>()

  // 'exit' listeners run synchronously inside process.exit(), where nothing asynchronous can happen any more:
  // SIGKILL is the only signal worth sending (there is no time left to wait for SIGTERM). Installed only while a
  // child is alive, so an idle registry changes nothing global.
  const killOnExit = () => {
    for (const child of tracked.keys()) signalGroup(child, 'SIGKILL', true)
  }

  function spawn(command: string, args: readonly string[] = [], spawnOptions: Omit<SpawnOptions, 'detached'> = {}): ChildProcess {
    // node:child_process is loaded at the first spawn, not with the lifecycle: a service without children skips it.
    const { spawn: spawnChild } = process.getBuiltinModule('node:child_process')
    const child = spawnChild(command, [...args], { ...spawnOptions, detached: true })
    const entry: Tracked = {
      // Subscribed now, so the 'close' event cannot be missed however late close() is called.
      closed: new Promise<void>((resolve) => {
        child.once('close', () => {
          tracked.delete(child)
          if (tracked.size === 0) process.off('exit', killOnExit)
          resolve()
        })
      }),
      forced: false,
    }
    if (tracked.size === 0) process.on('exit', killOnExit)
    tracked.set(child, entry)
    finished.set(child, entry)
    return child
  }

  function exitOf(child: ChildProcess, forced: boolean): ChildExit {
    return { pid: child.pid, exitCode: child.exitCode, signalCode: child.signalCode, forced }
  }

  function close(child: ChildProcess, closeOptions: CloseChildOptions = {}): Promise<ChildExit> {
    const timeout = closeOptions.timeout ?? 5_000
    if (typeof timeout !== 'number' || !(timeout >= 0) || timeout > 2 ** 31 - 1) {
      throw new RangeError(`\`timeout\` must be a number of milliseconds from 0 to ${2 ** 31 - 1}, got ${String(timeout)}.`)
    }
    const entry = finished.get(child)
    if (!entry) throw new TypeError('This child was not spawned by this registry; use `registry.spawn()`.')
    entry.closing ??= (async () => {
      if (!tracked.has(child)) return exitOf(child, entry.forced)
      // Even if the child itself already exited, its group may still hold the stdio pipes open: signal it anyway.
      signalGroup(child, 'SIGTERM')
      let killTimer: NodeJS.Timeout | undefined
      let stuckTimer: NodeJS.Timeout | undefined
      const escalate = new Promise<void>((resolve) => {
        killTimer = setTimeout(() => {
          entry.forced = true
          log.warn(`Child ${child.pid ?? '?'} did not exit within ${timeout} ms of SIGTERM; sending SIGKILL to its group.`)
          signalGroup(child, 'SIGKILL')
          // A descendant that left the group can keep the pipes open after SIGKILL; let go of them.
          stuckTimer = setTimeout(() => {
            log.error(`Child ${child.pid ?? '?'} still had open stdio ${timeout} ms after SIGKILL; destroying its streams.`)
            for (const stream of child.stdio) stream?.destroy()
            resolve()
          }, timeout)
        }, timeout)
      })
      try {
        await Promise.race([entry.closed, escalate.then(() => entry.closed)])
      } finally {
        clearTimeout(killTimer)
        clearTimeout(stuckTimer)
      }
      return exitOf(child, entry.forced)
    })()
    return entry.closing
  }

  return {
    spawn,
    close,
    closeAll: (closeOptions) => Promise.all([...tracked.keys()].map((child) => close(child, closeOptions))),
    get size() {
      return tracked.size
    },
  }
}

/** Signals the child's process group. `quiet` swallows every error: an exit listener must not throw. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals, quiet = false): void {
  const pid = child.pid
  if (pid === undefined) return // spawn failed; 'error' and 'close' follow on their own
  try {
    if (process.platform === 'win32') child.kill(signal)
    else process.kill(-pid, signal)
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if (!quiet && (error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}
