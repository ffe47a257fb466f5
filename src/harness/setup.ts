// The setup-file harness: brackets every test with `aroundEach` and every file with `aroundAll`
// (importing this module is the side effect). It is what `setupFiles: ['leakguard/setup']` wires,
// and what the plugin uses when the project has a test runner of its own; otherwise the plugin
// installs leakguard's runner (runner.ts), which brackets tests without hooks, for less.
import * as vitest from 'vitest'
import { state } from '../detector/registry.js'
import { arm, closeInto, contextStorage, openFile, openTest, type TaskLike } from './brackets.js'
import { disabledByEnv } from './env.js'

function armHooks(): void {
  const { aroundAll, aroundEach } = vitest as unknown as Record<string, ((...args: any[]) => void) | undefined>
  if (typeof aroundEach !== 'function' || typeof aroundAll !== 'function') {
    throw new Error('leakguard needs Vitest 4.1 or later (it brackets tests with `aroundEach`); upgrade with `npm i -D vitest@latest`.')
  }
  const options = arm('hooks')

  // The file bracket opens before the test file is imported, so module scope and describe
  // callbacks count, and closes after the file's last afterAll.
  const file = openFile()
  // Vitest reads the hook's parameter list: the context must be written as a destructuring pattern.
  aroundAll(async (runSuite: () => Promise<void>, {}: object, suite: TaskLike | undefined) => {
    await runSuite()
    const error = await closeInto(file, suite, options)
    if (error) throw error
  })

  aroundEach(async (runTest: () => Promise<void>, { task }: { task: TaskLike }) => {
    const bracket = openTest(task)
    if (task.concurrent) await contextStorage().run(bracket, runTest)
    else await runTest()
    const error = await closeInto(bracket, task, options)
    if (error) throw error
  })
}

// Under leakguard's runner the tests are already bracketed: a setup file listed as well does nothing.
if (!disabledByEnv() && state().harness !== 'runner') armHooks()
