// The parallel runner behind `npm start` and `leakguard scenarios`: every scenario at once, each with its own process
// and ports, each bounded in time; one result per scenario and the wall time against the longest of them.

import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { REFERENCE_SERVER_PATH } from '../reference/entry.js'
import { aborted, raceTimeout, ScenarioContext, ScenarioFailure, type Target } from './context.js'
import { parseCommand } from './command.js'
import { SCENARIOS } from './list.js'

export type Verdict = 'pass' | 'fail' | 'skip'

export interface ScenarioResult {
  readonly name: string
  readonly verdict: Verdict
  /** From the scenario's start to the end of its checks (0 when skipped). */
  readonly durationMs: number
  /** What was observed (pass), what went wrong (fail), or why it did not run (skip). One line. */
  readonly detail: string
}

export interface ScenarioReport {
  /** What ran: `reference server (…)` or the `--server` command. */
  readonly target: string
  readonly ok: boolean
  readonly passed: number
  readonly failed: number
  readonly skipped: number
  /** Wall time of the whole run, in milliseconds. */
  readonly durationMs: number
  /** The scenario that took longest, or `null` when none ran. */
  readonly longest: { readonly name: string; readonly durationMs: number } | null
  /** `durationMs / longest.durationMs`: 1.0 would be perfectly parallel. `null` when none ran. */
  readonly ratio: number | null
  /** In the order of {@link scenarios}. */
  readonly results: readonly ScenarioResult[]
}

export interface RunScenariosOptions {
  /**
   * The server to test, as a command line (split like a shell would, not run through one; leading `NAME=value` words
   * set its environment). It must read `PORT` and `HOST` from the environment. Scenarios that need the reference
   * server's hooks are skipped, with the reason.
   *
   * @default the bundled reference server (`node dist/reference/main.cjs`)
   * @example runScenarios({ server: 'node dist/server.js', health: '/healthz' })
   */
  readonly server?: string
  /**
   * Path that answers 200 once a `server` is ready; polled every 25 ms. Only with `server`.
   *
   * @default '/health'
   * @example runScenarios({ server: 'node app.js', health: '/livez' })
   */
  readonly health?: string
  /**
   * Path of an endpoint that answers after `{ms}` milliseconds; enables the in-flight scenarios for a `server`.
   *
   * @default undefined (those scenarios are skipped)
   * @example runScenarios({ server: 'node app.js', slowPath: '/slow?ms={ms}' })
   */
  readonly slowPath?: string
  /**
   * Runs only these scenarios (by name); the others are left out of the report.
   *
   * @default every scenario
   * @example runScenarios({ only: ['sigterm-idle', 'load-shutdown'] })
   */
  readonly only?: readonly string[]
  /**
   * Upper bound for one scenario, in milliseconds: past it the scenario fails and its processes are killed.
   *
   * @default 15_000
   * @example runScenarios({ timeout: 30_000 })
   */
  readonly timeout?: number
  /**
   * Working directory of the server processes.
   *
   * @default process.cwd()
   */
  readonly cwd?: string
  /**
   * Environment the server processes start from.
   *
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv
  /**
   * Called as each scenario finishes, in the order they finish.
   *
   * @default undefined
   * @example runScenarios({ onResult: (r) => console.error(`${r.name}: ${r.verdict}`) })
   */
  readonly onResult?: (result: ScenarioResult) => void
}

/** A scenario by name, with what it proves and whether it can run against any `--server`. */
export interface ScenarioInfo {
  readonly name: string
  readonly summary: string
  /** `true` when it runs against an arbitrary `--server` (possibly only with `--slow-path`). */
  readonly anyServer: boolean
  /** `true` when, against a `--server`, it needs `--slow-path`. */
  readonly needsSlowPath: boolean
}

const probeTarget = (slowPath: string | undefined) =>
  ({ kind: 'command', argv: [], env: {}, health: '/', slowPath, label: '' }) as const

/** Every scenario, in report order. */
export const scenarios: readonly ScenarioInfo[] = SCENARIOS.map((s) => {
  const anyServer = s.skip?.(probeTarget('/{ms}')) === undefined
  return { name: s.name, summary: s.summary, anyServer, needsSlowPath: anyServer && s.skip?.(probeTarget(undefined)) !== undefined }
})

/**
 * How many servers may be starting at once. Start-up is the CPU-heavy part (a Node process or two each); with it
 * limited, and the scenarios that wait longest started first, their waiting overlaps the others' start-up instead of
 * everything slowing down together. A slot frees once a scenario's server is ready.
 */
const STARTING_AT_ONCE = 4

interface Resolved {
  readonly target: Target
  readonly selected: readonly (typeof SCENARIOS)[number][]
  readonly timeout: number
}

/**
 * Checks the options without running anything; throws a `TypeError` or `RangeError` naming the option.
 *
 * @example
 * validateScenarioOptions({ server: 'node app.js', slowPath: '/slow' }) // RangeError: `slowPath` must be a path with a {ms} placeholder…
 */
export function validateScenarioOptions(options: RunScenariosOptions = {}): void {
  resolve(options)
}

function resolve(options: RunScenariosOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new TypeError('`options` must be an object.')
  const { server, health, slowPath, only, timeout = 15_000 } = options
  if (server === undefined && (health !== undefined || slowPath !== undefined)) {
    throw new TypeError('`health` and `slowPath` describe a `server`; the bundled reference server needs neither.')
  }
  if (health !== undefined && (typeof health !== 'string' || !health.startsWith('/'))) {
    throw new RangeError(`\`health\` must be a path starting with "/", such as "/health"; got ${JSON.stringify(health)}.`)
  }
  if (slowPath !== undefined && (typeof slowPath !== 'string' || !slowPath.startsWith('/') || !slowPath.includes('{ms}'))) {
    throw new RangeError(`\`slowPath\` must be a path with a {ms} placeholder, such as "/slow?ms={ms}"; got ${JSON.stringify(slowPath)}.`)
  }
  if (typeof timeout !== 'number' || !(timeout >= 1_000) || timeout > 600_000) {
    throw new RangeError(`\`timeout\` must be a number of milliseconds from 1000 to 600000, got ${String(timeout)}.`)
  }
  const names = SCENARIOS.map((s) => s.name)
  if (only !== undefined) {
    if (!Array.isArray(only) || only.length === 0) throw new TypeError('`only` must be a non-empty array of scenario names.')
    for (const name of only) {
      if (!names.includes(name)) throw new RangeError(`unknown scenario \`${String(name)}\`; the scenarios are: ${names.join(', ')}.`)
    }
  }
  const selected = SCENARIOS.filter((s) => only === undefined || only.includes(s.name))
  let target: Target
  if (server === undefined) {
    target = { kind: 'reference', argv: [process.execPath, REFERENCE_SERVER_PATH], label: 'the bundled reference server' }
  } else {
    if (typeof server !== 'string' || server.trim() === '') throw new TypeError('`server` must be a non-empty command line.')
    const { env, argv } = parseCommand(server)
    target = { kind: 'command', argv, env, health: health ?? '/health', slowPath, label: server }
  }
  return { target, selected, timeout }
}

/**
 * Runs the scenarios concurrently against the bundled reference server, or against `options.server`.
 * Never rejects because of the server: its failures are rows. Rejects with a `TypeError`/`RangeError` on bad options.
 *
 * @example
 * const report = await runScenarios()
 * console.log(formatTable(report))
 * process.exitCode = report.ok ? 0 : 1
 */
export async function runScenarios(options: RunScenariosOptions = {}): Promise<ScenarioReport> {
  const { target, selected, timeout } = resolve(options)
  const runId = `${process.pid}-${randomBytes(3).toString('hex')}`
  const env = options.env ?? process.env
  const began = performance.now()
  const skips = new Map(selected.map((s) => [s.name, target.kind === 'command' ? s.skip?.(target) : undefined]))
  const slots = semaphore(STARTING_AT_ONCE)
  const byName = new Map<string, Promise<ScenarioResult>>()
  // Among equal waits, a cluster first: its start-up is a primary's, then its workers', one after the other, and a
  // cluster started among the last would keep the run going after everything else has finished.
  const longestWaitFirst = [...selected].sort(
    (a, b) => (b.waits ?? 0) - (a.waits ?? 0) || (b.startCost ?? 1) - (a.startCost ?? 1),
  )
  for (const scenario of longestWaitFirst) {
    const skip = skips.get(scenario.name)
    const result: Promise<ScenarioResult> = skip
      ? Promise.resolve({ name: scenario.name, verdict: 'skip', durationMs: 0, detail: skip })
      : slots.acquire(scenario.startCost).then((release) => runOne(scenario, target, timeout, env, options.cwd, runId, (startedUp) => void startedUp.then(release)))
    byName.set(scenario.name, result.then((r) => (options.onResult?.(r), r)))
  }
  const results = await Promise.all(selected.map((scenario) => byName.get(scenario.name)!))
  const durationMs = performance.now() - began
  const ran = results.filter((r) => r.verdict !== 'skip')
  const longest = ran.reduce<ScenarioResult | undefined>((a, b) => (a === undefined || b.durationMs > a.durationMs ? b : a), undefined)
  const count = (verdict: Verdict) => results.filter((r) => r.verdict === verdict).length
  return {
    target: target.kind === 'reference' ? `${target.label} (node ${REFERENCE_SERVER_PATH})` : target.label,
    ok: count('fail') === 0,
    passed: count('pass'),
    failed: count('fail'),
    skipped: count('skip'),
    durationMs: Math.round(durationMs),
    longest: longest ? { name: longest.name, durationMs: longest.durationMs } : null,
    ratio: longest && longest.durationMs > 0 ? Math.round((durationMs / longest.durationMs) * 100) / 100 : null,
    results,
  }
}

/**
 * A counting semaphore whose `acquire(weight)` resolves with the function that releases those units (once). First come,
 * first served: a heavy request waits for enough units rather than being passed by lighter ones.
 */
function semaphore(size: number): { acquire(weight?: number): Promise<() => void> } {
  let free = size
  const waiting: { readonly weight: number; readonly grant: () => void }[] = []
  const next = () => {
    while (waiting.length > 0 && waiting[0]!.weight <= free) {
      const first = waiting.shift()!
      free -= first.weight
      first.grant()
    }
  }
  return {
    async acquire(weight = 1) {
      const units = Math.min(Math.max(1, weight), size)
      if (waiting.length === 0 && free >= units) free -= units
      else await new Promise<void>((grant) => waiting.push({ weight: units, grant }))
      let released = false
      return () => {
        if (released) return
        released = true
        free += units
        next()
      }
    },
  }
}

async function runOne(
  scenario: (typeof SCENARIOS)[number],
  target: Target,
  timeout: number,
  env: NodeJS.ProcessEnv,
  cwd: string | undefined,
  runId: string,
  onContext?: (startedUp: Promise<void>) => void,
): Promise<ScenarioResult> {
  const started = performance.now()
  const controller = new AbortController()
  // The load scenario alone has 50 requests listening on this signal at once.
  setMaxListeners(1_000, controller.signal)
  const t = new ScenarioContext(target, scenario.name, controller.signal, env, cwd, runId)
  onContext?.(t.startedUp)
  const timer = setTimeout(
    () => controller.abort(new ScenarioFailure(`did not finish within ${timeout} ms (scenario time limit)`)),
    timeout,
  )
  const running = scenario.run(t)
  running.catch(() => {})
  let detail: string
  let failure: string | undefined
  try {
    detail = await Promise.race([running, aborted(controller.signal)])
  } catch (error) {
    detail = ''
    failure = error instanceof ScenarioFailure ? error.message : `the scenario broke: ${(error as Error)?.stack ?? String(error)}`
  } finally {
    clearTimeout(timer)
  }
  // Whatever happened, abort what is still waiting, then close every process and look for what it left behind.
  if (!controller.signal.aborted) controller.abort(new ScenarioFailure('the scenario ended'))
  const problems = await t.finish(failure === undefined)
  // Everything it waits on is tied to the abort signal or to a process that is gone now; bounded all the same.
  await raceTimeout(running.catch(() => {}), 2_000)
  const all = [failure, ...problems].filter((p): p is string => p !== undefined)
  return {
    name: scenario.name,
    verdict: all.length === 0 ? 'pass' : 'fail',
    durationMs: Math.round(performance.now() - started),
    detail: all.length === 0 ? detail : all.join('; '),
  }
}
