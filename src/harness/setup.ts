// The setup-file harness: brackets every test and every file with hooks (importing this module is
// the side effect). It is what `setupFiles: ['leakguard/setup']` wires, and what the plugin uses
// when the project has a test runner of its own; otherwise the plugin installs leakguard's runner
// (runner.ts), which brackets tests without hooks, for less.
//
// Vitest 4.1 and later: an `aroundEach` and an `aroundAll` hook, registered first, so they wrap
// every other hook. Before 4.1 there are none: a `beforeEach` registered first opens the test's
// bracket and closes it as the try's last `onTestFinished` callback (Vitest runs those last
// registered first, after afterEach and fixture teardown), or after the onTestFailed callbacks of
// a failed try, as the runner does; a `beforeAll` registered first closes
// the file's in the cleanup it returns, which Vitest runs after every afterAll hook and, with
// `sequence.hooks: 'stack'` (the default), after every other beforeAll cleanup.
import * as vitest from 'vitest'
import type { ResolvedOptions } from '../detector/options.js'
import { state } from '../detector/registry.js'
import { arm, closeInto, contextStorage, openFile, openTest, type TaskLike } from './brackets.js'
import { disabledByEnv } from './env.js'

type HookFn = (...args: any[]) => void
const { aroundAll, aroundEach, beforeAll, beforeEach } = vitest as unknown as Record<string, HookFn | undefined>

function armAroundHooks(options: ResolvedOptions): void {
  // The file bracket opens before the test file is imported, so module scope and describe
  // callbacks count, and closes after the file's last afterAll.
  const file = openFile()
  // Vitest reads the hook's parameter list: the context must be written as a destructuring pattern.
  aroundAll!(async (runSuite: () => Promise<void>, {}: object, suite: TaskLike | undefined) => {
    await runSuite()
    const error = await closeInto(file, suite, options)
    if (error) throw error
  })

  aroundEach!(async (runTest: () => Promise<void>, { task }: { task: TaskLike }) => {
    const bracket = openTest(task)
    if (task.concurrent) await contextStorage().run(bracket, runTest)
    else await runTest()
    const error = await closeInto(bracket, task, options)
    if (error) throw error
  })
}

interface TestContext {
  task: TaskLike & { result?: { state?: string }; onFailed?: (() => unknown)[] }
  onTestFinished: (fn: () => Promise<void>) => void
}

/** Vitest 3.1 to 4.0: no around hooks. */
function armBeforeHooks(options: ResolvedOptions): void {
  const file = openFile()
  beforeAll!((suite: TaskLike | undefined) => async () => {
    const error = await closeInto(file, suite, options)
    if (error) throw error
  })

  // Synchronous on purpose: Vitest calls it before any other beforeEach and awaits it, so async
  // context entered here carries into the rest of the try (hooks, the test, onTestFinished).
  beforeEach!(({ task, onTestFinished }: TestContext) => {
    const bracket = openTest(task)
    if (task.concurrent) contextStorage().enterWith(bracket)
    const close = async (): Promise<void> => {
      const error = await closeInto(bracket, task, options)
      if (error) throw error
    }
    onTestFinished(async () => {
      // A failed try's onTestFailed callbacks run next, in `sequence.hooks` order, which a setup
      // file cannot read: one callback at each end of them closes the bracket on its second call.
      if (task.result?.state === 'fail' && task.onFailed?.length) {
        let calls = 0
        const second = async () => (++calls === 2 ? close() : undefined)
        task.onFailed.unshift(second)
        task.onFailed.push(second)
        return
      }
      await close()
    })
  })
}

// Under leakguard's runner the tests are already bracketed: a setup file listed as well does nothing.
if (!disabledByEnv() && state().harness !== 'runner') {
  const options = arm('hooks')
  if (typeof aroundEach === 'function' && typeof aroundAll === 'function') armAroundHooks(options)
  else armBeforeHooks(options)
}
