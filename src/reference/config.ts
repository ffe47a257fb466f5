// The reference server's configuration: read from the environment once, validated before anything starts, so a
// typo ends the process with exit code 71 and one line that names the variable instead of a half-started server.

/** Everything the reference server reads from the environment, parsed. */
export interface ReferenceConfig {
  /** `HOST`: loopback address every listener binds. @default '127.0.0.1' */
  readonly host: string
  /** `PORT`, `ADMIN_PORT`, `METRICS_PORT`; `0` lets the system pick (the ready announcement says which). */
  readonly ports: { readonly api: number; readonly admin: number; readonly metrics: number }
  /** `DATABASE_PATH`: JSON file of the users store, read at start and written back at close; `:memory:` keeps nothing. */
  readonly databasePath: string
  /** `DB_CONNECT_ATTEMPTS`: tries before giving up with exit code 70. @default 5 */
  readonly dbAttempts: number
  /** `DB_RETRY_BASE_MS`: base of the exponential backoff (full jitter). @default 100 */
  readonly dbRetryBaseMs: number
  /** `DRAIN_TIMEOUT_MS`: how long in-flight requests may take after the listeners closed. @default 10_000 */
  readonly drainTimeoutMs: number
  /** `PRE_DRAIN_DELAY_MS`: /ready answers 503 this long, still serving, before the drain starts. @default 0 */
  readonly preDrainDelayMs: number
  /** `CHILD_TIMEOUT_MS`: how long the worker gets after SIGTERM before SIGKILL. @default 5_000 */
  readonly childTimeoutMs: number
  /** `SHUTDOWN_TIMEOUT_MS`: hard deadline of the whole close. @default the three above added, plus 2_000 */
  readonly shutdownTimeoutMs: number
  /** `KEEP_ALIVE_TIMEOUT_MS`: idle keep-alive connections are closed after this long. @default 5_000 */
  readonly keepAliveTimeoutMs: number
  /** `HEADERS_TIMEOUT_MS`: a client that has not sent its headers by then is answered 408 and closed. @default 10_000 */
  readonly headersTimeoutMs: number
  /** `MAX_BODY_BYTES`: larger request bodies get 413. @default 65_536 */
  readonly maxBodyBytes: number
  /** `LOOP_INTERVAL_MS`: period of the background loop. @default 1_000 */
  readonly loopIntervalMs: number
  /** `STREAM_INTERVAL_MS`: period of the events on `/stream`. @default 1_000 */
  readonly streamIntervalMs: number
  /** `REFERENCE_TEST_HOOKS=1`: enables `POST /debug/uncaught` and `/debug/unhandled` on the admin listener. */
  readonly testHooks: boolean
  /**
   * `WORKER_CHILD=0`: runs without the worker child (no background jobs; the loop still runs). Scenarios that are not
   * about child processes use it: a Node process less to start for each of them. @default true
   */
  readonly workerChild: boolean
  /** `WORKER_IGNORE_SIGTERM=1` (test only): the worker child ignores SIGTERM, so shutdown has to SIGKILL it. */
  readonly workerIgnoresSigterm: boolean
  /** `WORKERS`: cluster workers sharing the ports; 1 runs a single process, without a cluster. @default 1 */
  readonly workers: number
  /** `CLUSTER_TIMEOUT_MS`: how long cluster workers get after the disconnect before SIGKILL. @default SHUTDOWN_TIMEOUT_MS + 1_000 */
  readonly clusterTimeoutMs: number
  /** `CLUSTER_IGNORE_DISCONNECT=1` (test only): the first cluster worker ignores the primary's disconnect. */
  readonly clusterIgnoreDisconnect: boolean
}

/** The configuration was rejected; `message` is one line naming the variable and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

const MAX_MS = 2 ** 31 - 1
const MAX_WORKERS = 64

/**
 * Reads and validates the configuration. Throws a {@link ConfigError} on the first invalid variable.
 *
 * @example
 * const config = readConfig({ PORT: '0', ADMIN_PORT: '0', METRICS_PORT: '0' })
 */
export function readConfig(env: NodeJS.ProcessEnv): ReferenceConfig {
  const host = env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST
  if (!isLoopback(host)) {
    throw new ConfigError(
      `HOST must be a loopback address (127.0.0.1, ::1 or localhost), got ${JSON.stringify(host)}: the reference server never listens beyond this machine.`,
    )
  }
  const ports = {
    api: integer(env, 'PORT', 3000, 0, 65535),
    admin: integer(env, 'ADMIN_PORT', 3001, 0, 65535),
    metrics: integer(env, 'METRICS_PORT', 3002, 0, 65535),
  }
  const fixed = Object.entries(ports).filter(([, port]) => port !== 0)
  for (const [name, port] of fixed) {
    const other = fixed.find(([n, p]) => n !== name && p === port)
    if (other) throw new ConfigError(`PORT, ADMIN_PORT and METRICS_PORT must differ (or be 0), but ${name} and ${other[0]} are both ${port}.`)
  }
  const databasePath = env.DATABASE_PATH === undefined || env.DATABASE_PATH === '' ? ':memory:' : env.DATABASE_PATH
  const drainTimeoutMs = integer(env, 'DRAIN_TIMEOUT_MS', 10_000, 0, MAX_MS)
  const preDrainDelayMs = integer(env, 'PRE_DRAIN_DELAY_MS', 0, 0, MAX_MS)
  const childTimeoutMs = integer(env, 'CHILD_TIMEOUT_MS', 5_000, 0, MAX_MS)
  const needed = preDrainDelayMs + drainTimeoutMs + childTimeoutMs
  const shutdownTimeoutMs = integer(env, 'SHUTDOWN_TIMEOUT_MS', Math.min(MAX_MS, needed + 2_000), 1, MAX_MS)
  if (env.SHUTDOWN_TIMEOUT_MS !== undefined && shutdownTimeoutMs <= needed) {
    throw new ConfigError(
      `SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs}) must be larger than PRE_DRAIN_DELAY_MS + DRAIN_TIMEOUT_MS + CHILD_TIMEOUT_MS (${needed}), or the hard deadline cuts a clean shutdown short.`,
    )
  }
  const workerChild = flag(env, 'WORKER_CHILD', true)
  const workerIgnoresSigterm = flag(env, 'WORKER_IGNORE_SIGTERM')
  if (workerIgnoresSigterm && !workerChild) {
    throw new ConfigError('WORKER_IGNORE_SIGTERM=1 needs the worker child: drop WORKER_CHILD=0, or WORKER_IGNORE_SIGTERM.')
  }
  return {
    host,
    ports,
    databasePath,
    dbAttempts: integer(env, 'DB_CONNECT_ATTEMPTS', 5, 1, 100),
    dbRetryBaseMs: integer(env, 'DB_RETRY_BASE_MS', 100, 0, 60_000),
    drainTimeoutMs,
    preDrainDelayMs,
    childTimeoutMs,
    shutdownTimeoutMs,
    keepAliveTimeoutMs: integer(env, 'KEEP_ALIVE_TIMEOUT_MS', 5_000, 1, MAX_MS),
    headersTimeoutMs: integer(env, 'HEADERS_TIMEOUT_MS', 10_000, 1, MAX_MS),
    maxBodyBytes: integer(env, 'MAX_BODY_BYTES', 65_536, 1, 64 * 1024 * 1024),
    loopIntervalMs: integer(env, 'LOOP_INTERVAL_MS', 1_000, 1, MAX_MS),
    streamIntervalMs: integer(env, 'STREAM_INTERVAL_MS', 1_000, 1, MAX_MS),
    testHooks: flag(env, 'REFERENCE_TEST_HOOKS'),
    workerChild,
    workerIgnoresSigterm,
    workers: integer(env, 'WORKERS', 1, 1, MAX_WORKERS, ' (1 runs a single process; more forks a cluster sharing the ports)'),
    clusterTimeoutMs: integer(env, 'CLUSTER_TIMEOUT_MS', Math.min(MAX_MS, shutdownTimeoutMs + 1_000), 1, MAX_MS),
    clusterIgnoreDisconnect: flag(env, 'CLUSTER_IGNORE_DISCONNECT'),
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, hint = ''): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}${hint}, got ${JSON.stringify(raw)}.`)
  }
  return Number(raw)
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback = false): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (raw === '0' || raw === 'false') return false
  if (raw === '1' || raw === 'true') return true
  throw new ConfigError(`${name} must be 1 or 0 (true or false), got ${JSON.stringify(raw)}.`)
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  const parts = host.split('.')
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
}
