// The runner harness: Vitest's own test runner, with the brackets opened and closed in its runner
// hooks. The plugin installs it (`test.runner`) unless the project has a runner of its own.
//
// Why not hooks: every aroundEach costs Vitest two timers, several promises and a fixture pass per
// test; on a suite of short tests that was half of leakguard's cost (bench/detector.mjs). The runner
// hooks are called anyway. The brackets are the same: a test's opens before its beforeEach hooks
// and closes after its afterEach, onTestFinished and fixture teardown, once per try; the file's
// opens before the setup files and the test file load, and closes after the last afterAll and
// aroundAll. One difference: a project's own aroundEach hooks run outside the test bracket, so
// what they leave behind answers to the file.
import * as vitest from 'vitest'
import type { ResolvedOptions } from '../detector/options.js'
import type { Bracket } from '../detector/registry.js'
import { arm, closeInto, contextStorage, openFile, openTest, type TaskLike } from './brackets.js'
import { disabledByEnv } from './env.js'
import { installedVitestVersion, parseVersion } from '../shared/vitest-version.js'

interface TestTask extends TaskLike {
  type: 'test'
  result?: { state?: string }
  /** Vitest before 4.1: the try's onTestFinished and onTestFailed callbacks. */
  onFinished?: (() => unknown)[]
  onFailed?: (() => unknown)[]
}
interface FileTask extends TaskLike {
  id?: string
  result?: { state?: string; errors?: unknown[] }
}
type Config = { mode?: string; sequence?: { hooks?: string } } & Record<string, unknown>
type Hook = ((this: unknown, ...args: unknown[]) => unknown) | undefined
type RunnerClass = new (config: Config) => object

const V = vitest as unknown as {
  /** Vitest 4.1 and later. */
  TestRunner?: RunnerClass
  /** Vitest 4.1 and later: `vitest bench` runs benchmarks with it. */
  BenchmarkRunner?: RunnerClass
}
// Before 4.1, Vitest's runner classes live in `vitest/runners` (a specifier in a variable: Vitest 5
// has no such entry, and nothing loads it there).
const RUNNERS = 'vitest/runners'
const legacy = V.TestRunner
  ? null
  : ((await import(RUNNERS)) as { VitestTestRunner: RunnerClass; NodeBenchmarkRunner?: RunnerClass })
const TestRunner: RunnerClass = V.TestRunner ?? legacy!.VitestTestRunner
const BenchmarkRunner = V.BenchmarkRunner ?? legacy?.NodeBenchmarkRunner
const base = TestRunner.prototype as Record<string, Hook>
// Before 4.1 the test bracket closes as the try's last onTestFinished callback (after afterEach and
// fixture teardown as well): Vitest 3 has no onAfterRetryTask, and Vitest 4.0 calls it outside the
// try's error handling, so an error thrown there fails the whole file instead of the test.
const closesInFinished = legacy !== null
// Vitest 3 reports a file finished before onAfterRunSuite: a file's leaks are sent again.
const resendsFile = legacy !== null && (parseVersion(installedVitestVersion())?.[0] ?? 3) < 4

const enabled = !disabledByEnv()
let options: ResolvedOptions | null = null
const tests = new WeakMap<object, Bracket>()
const files = new WeakMap<object, Bracket>()

/** A task error as Vitest sends it to the main process: plain data. */
function taskError(error: Error): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...error, name: error.name, message: error.message, stack: error.stack }))
}

export default class LeakguardRunner extends TestRunner {
  declare config: Config
  declare onTaskUpdate?: (packs: unknown[], events: unknown[]) => Promise<void>

  constructor(config: Config) {
    // Benchmarks have a runner of their own (`vitest bench`, before Vitest 5): hand them that one, untouched.
    if (config.mode === 'benchmark' && BenchmarkRunner) return new BenchmarkRunner(config) as LeakguardRunner
    super(config)
  }

  onCollectStart(file: FileTask): void {
    base.onCollectStart?.call(this, file)
    if (!enabled) return
    options ??= arm('runner')
    files.set(file, openFile())
  }

  // Synchronous on purpose: async context entered here carries into the rest of this try
  // (beforeEach, the test, afterEach) and no further than the test's own chain.
  onBeforeTryTask(test: TestTask, tryOptions: unknown): unknown {
    const result = base.onBeforeTryTask?.call(this, test, tryOptions)
    if (options && test.type === 'test') {
      const bracket = openTest(test)
      tests.set(test, bracket)
      if (test.concurrent) contextStorage().enterWith(bracket)
      // Vitest runs onTestFinished callbacks last registered first: this one runs last.
      if (closesInFinished) (test.onFinished ??= []).unshift(() => this.closeAfterFinished(test))
    }
    return result
  }

  /** Before 4.1: closes the try's bracket, after the onTestFailed callbacks when there are some. */
  private async closeAfterFinished(test: TestTask): Promise<void> {
    const order = this.config.sequence?.hooks
    // Vitest calls them after the onTestFinished ones, in `sequence.hooks` order; not 'parallel'.
    if (test.result?.state === 'fail' && test.onFailed?.length && order !== 'parallel') {
      const close = () => this.closeTry(test)
      if (order === 'list') test.onFailed.push(close)
      else test.onFailed.unshift(close)
      return
    }
    await this.closeTry(test)
  }

  private async closeTry(test: TestTask): Promise<void> {
    const bracket = tests.get(test)
    if (!bracket || !options) return
    tests.delete(test)
    const error = await closeInto(bracket, test, options)
    if (error) throw error
  }

  // Vitest 4.1 and later: after afterEach, onTestFinished and the try's fixtures; what it throws
  // fails the test (and a retry runs again).
  async onAfterRetryTask(test: TestTask, tryOptions: unknown): Promise<void> {
    await base.onAfterRetryTask?.call(this, test, tryOptions)
    await this.closeTry(test)
  }

  async onAfterRunSuite(suite: FileTask): Promise<void> {
    const bracket = files.get(suite)
    if (bracket && options) {
      files.delete(suite)
      const error = await closeInto(bracket, suite, options)
      if (error && suite.result) {
        suite.result.state = 'fail'
        ;(suite.result.errors ??= []).push(taskError(error))
      }
      // Vitest 3 has already reported the file finished: send its result and meta again.
      if (resendsFile && suite.meta.leaks && suite.id && this.onTaskUpdate) {
        await this.onTaskUpdate([[suite.id, suite.result, suite.meta]], [])
      }
    }
    await base.onAfterRunSuite?.call(this, suite)
  }
}
