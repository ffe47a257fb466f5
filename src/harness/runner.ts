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

interface TestTask extends TaskLike {
  type: 'test'
}
interface FileTask extends TaskLike {
  result?: { state?: string; errors?: unknown[] }
}
type Config = { mode?: string } & Record<string, unknown>
type Hook = ((this: unknown, ...args: unknown[]) => unknown) | undefined

const V = vitest as unknown as {
  TestRunner?: new (config: Config) => object
  /** Vitest 4 only: `vitest bench` runs benchmarks with it. */
  BenchmarkRunner?: new (config: Config) => object
}
const TestRunner =
  V.TestRunner ??
  (() => {
    throw new Error('leakguard needs Vitest 4.1 or later (its runner extends `TestRunner` from `vitest`); upgrade with `npm i -D vitest@latest`.')
  })()
const base = TestRunner.prototype as Record<string, Hook>

const enabled = !disabledByEnv()
let options: ResolvedOptions | null = null
const tests = new WeakMap<object, Bracket>()
const files = new WeakMap<object, Bracket>()

/** A task error as Vitest sends it to the main process: plain data. */
function taskError(error: Error): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ ...error, name: error.name, message: error.message, stack: error.stack }))
}

export default class LeakguardRunner extends TestRunner {
  constructor(config: Config) {
    // Benchmarks have a runner of their own (Vitest 4): hand them that one, untouched.
    if (config.mode === 'benchmark' && V.BenchmarkRunner) return new V.BenchmarkRunner(config) as LeakguardRunner
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
    }
    return result
  }

  // After afterEach, onTestFinished and the try's fixtures; what it throws fails the test (and a
  // retry runs again).
  async onAfterRetryTask(test: TestTask, tryOptions: unknown): Promise<void> {
    await base.onAfterRetryTask?.call(this, test, tryOptions)
    const bracket = tests.get(test)
    if (!bracket || !options) return
    tests.delete(test)
    const error = await closeInto(bracket, test, options)
    if (error) throw error
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
    }
    await base.onAfterRunSuite?.call(this, suite)
  }
}
