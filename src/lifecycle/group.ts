// Several lifecycle servers (api, admin, metrics) that start all-or-none, stop together (every member stops accepting
// at once, then each finishes in reverse order), and restart together around one shared context.

import { createLog, describeError, type LoggerOption } from './logger.js'
import { serverInternals, type DrainResult, type LifecycleServer } from './server.js'

/**
 * A member of a group: a lifecycle server, or a factory that receives `context`, a function returning the
 * group's current context, and returns a server (typically one created with `sharedContext: context`).
 * Factories are called once, by `createServerGroup`.
 */
export type ServerGroupMember<G> = LifecycleServer<any> | ((context: () => G) => LifecycleServer<any>)

export interface ServerGroupOptions<G = undefined> {
  /**
   * Creates the context the members share, once per group start or restart. Members get it through the
   * accessor passed to their factory (`sharedContext: context`). The group, not the members, owns it: its
   * `destroy()` runs after every member stopped, and before a restart creates the next one.
   *
   * @default undefined (no shared context; each member may still have its own `createContext`)
   * @example
   * createContext: async () => {
   *   const db = await openDb()
   *   return { db, destroy: () => db.close() }
   * }
   */
  readonly createContext?: () => G | Promise<G>
  /**
   * Where errors met while rolling back or stopping are reported. `false` prints nothing.
   *
   * @default console (every level on stderr)
   * @example logger: false
   */
  readonly logger?: LoggerOption
}

export interface ServerGroup<G = undefined, N extends string = string> {
  /** Starts the members in declaration order. If one fails, the started ones are stopped and the error rethrown. */
  start(): Promise<void>
  /**
   * Stops the group: every member stops accepting and drains at the same time (so the worst case is one
   * `drainTimeout`, not one per member), then the members finish in reverse order (each destroys its own context),
   * then the shared context is destroyed. Idempotent.
   */
  stop(): Promise<Readonly<Record<N, DrainResult>>>
  /** Stops everything, destroys the shared context, creates a new one, starts every member on its old port. */
  restart(): Promise<void>
  /** The members, by name. */
  readonly servers: Readonly<Record<N, LifecycleServer<any>>>
  /** The shared context while started, else `undefined`. */
  readonly context: G | undefined
}

/**
 * Groups lifecycle servers so they start, stop and restart as one.
 *
 * @example
 * const group = createServerGroup({
 *   api: (context) => createLifecycleServer({ handler: api, port: 8080, sharedContext: context }),
 *   admin: (context) => createLifecycleServer({ handler: admin, port: 8081, sharedContext: context }),
 *   metrics: createLifecycleServer({ handler: metrics, port: 9090 }), // no shared context needed
 * }, { createContext })
 * await group.start()
 */
export function createServerGroup<G = undefined, N extends string = string>(
  members: Readonly<Record<N, ServerGroupMember<G>>>,
  options: ServerGroupOptions<G> = {},
): ServerGroup<G, N> {
  if (members === null || typeof members !== 'object') throw new TypeError('`members` must be an object of servers.')
  const { createContext } = options
  if (createContext !== undefined && typeof createContext !== 'function') {
    throw new TypeError('`createContext` must be a function.')
  }
  const log = createLog(options.logger)

  let context: G | undefined
  let hasContext = false
  const accessor = (): G => {
    if (!hasContext) {
      throw new Error('The group context does not exist yet: it is created by `group.start()`, before the members start.')
    }
    return context as G
  }

  const names = Object.keys(members) as N[]
  if (names.length === 0) throw new TypeError('`members` must name at least one server.')
  const servers = {} as Record<N, LifecycleServer<any>>
  for (const name of names) {
    const member: ServerGroupMember<G> = members[name]
    const server = typeof member === 'function' ? member(accessor) : member
    if (!serverInternals.has(server)) {
      throw new TypeError(`\`${name}\` must be a server from \`createLifecycleServer()\` or a factory returning one.`)
    }
    servers[name] = server
  }
  Object.freeze(servers)

  let running = false
  let startPromise: Promise<void> | undefined
  let stopPromise: Promise<Record<N, DrainResult>> | undefined
  let restartPromise: Promise<void> | undefined

  async function destroyContext(): Promise<void> {
    const current = context
    context = undefined
    hasContext = false
    if (current === undefined || current === null) return
    const destroy = (current as { destroy?: unknown }).destroy
    if (typeof destroy === 'function') await destroy.call(current)
  }

  async function startAll(pinned: boolean): Promise<void> {
    if (createContext) {
      context = await createContext()
      hasContext = true
    }
    const started: N[] = []
    try {
      for (const name of names) {
        const server = servers[name]
        await (pinned ? serverInternals.get(server)!.startOnLastPort() : server.start())
        started.push(name)
      }
    } catch (error) {
      await stopMembers(started, 'after a failed group start ')
      await destroyContext().catch((destroyError: unknown) => {
        log.error(`Destroying the group context after a failed start failed: ${describeError(destroyError)}`)
      })
      throw error
    }
    running = true
  }

  function begin(pinned: boolean): Promise<void> {
    if (running || startPromise) return Promise.reject(new Error('The group is already started; call `stop()` first.'))
    stopPromise = undefined
    startPromise = startAll(pinned).finally(() => {
      startPromise = undefined
    })
    return startPromise
  }

  /**
   * Drains `list` all at once, then stops the members last-declared first. Every error is logged; the results of
   * the members that stopped are returned along with the errors.
   */
  async function stopMembers(list: readonly N[], when = ''): Promise<{ results: Record<N, DrainResult>; errors: unknown[] }> {
    // drain() closes the listener before it returns (it never rejects), so after this loop no member accepts a
    // connection. Draining one member at a time would leave the others accepting, and add up their drain timeouts.
    for (const name of list) void servers[name].drain()
    const results = {} as Record<N, DrainResult>
    const errors: unknown[] = []
    for (const name of [...list].reverse()) {
      try {
        // Waits for this member's drain (already under way), then destroys the member's own context.
        results[name] = await servers[name].stop()
      } catch (error) {
        errors.push(error)
        log.error(`Stopping \`${name}\` ${when}failed: ${describeError(error)}`)
      }
    }
    return { results, errors }
  }

  function stopNow(): Promise<Record<N, DrainResult>> {
    if (stopPromise) return stopPromise
    stopPromise = (async () => {
      if (startPromise) await startPromise.catch(() => {})
      const { results, errors } = await stopMembers(names)
      try {
        await destroyContext()
      } catch (error) {
        errors.push(error)
        log.error(`Destroying the group context failed: ${describeError(error)}`)
      }
      running = false
      if (errors.length === 1) throw errors[0]
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors while stopping the group.`)
      return results
    })()
    return stopPromise
  }

  return {
    start: () => begin(false),
    stop: () => (restartPromise ? restartPromise.catch(() => {}).then(stopNow) : stopNow()),
    restart() {
      restartPromise ??= (async () => {
        try {
          if (startPromise) await startPromise.catch(() => {})
          await stopNow()
          await begin(true)
        } finally {
          restartPromise = undefined
        }
      })()
      return restartPromise
    },
    servers,
    get context() {
      return context
    },
  }
}
