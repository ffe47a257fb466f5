// The per-test and per-file brackets, armed inside each Vitest worker (this is the side effect).
// This module and what it imports load in every test file: the rest of the detector (settling,
// descriptions, errors) loads only when a bracket closes with something left over.
import type { AsyncLocalStorage } from 'node:async_hooks'
import * as vitest from 'vitest'
import { installHooks } from '../detector/hooks.js'
import { deserializeAllow, validateOptions, type ResolvedOptions, type SerializedAllow } from '../detector/options.js'
import { closeBracket, isClean, openBracket, state, type Bracket } from '../detector/registry.js'
import type { Leak } from '../detector/types.js'
import { disabledByEnv, PROVIDE_KEY } from './env.js'

interface TaskLike {
  name: string
  type?: string
  suite?: TaskLike
  concurrent?: boolean
  meta: Record<string, unknown>
}

/** Vitest's full name: suites joined with ` > `, without the file. */
export function fullName(task: TaskLike): string {
  const names = [task.name]
  for (let s = task.suite; s && s.type === 'suite' && s.suite; s = s.suite) names.unshift(s.name)
  return names.join(' > ')
}

function readOptions(): ResolvedOptions {
  let provided: Record<string, unknown> | undefined
  try {
    provided = (vitest.inject as (key: string) => unknown)(PROVIDE_KEY) as Record<string, unknown> | undefined
  } catch {
    provided = undefined
  }
  if (!provided) return validateOptions(undefined)
  const { outputFile: _ignored, ...rest } = provided
  return validateOptions({
    ...rest,
    ...(Array.isArray(rest.allow) ? { allow: deserializeAllow(rest.allow as SerializedAllow[]) } : {}),
  })
}

const NONE: readonly Leak[] = []

/** What the bracket leaked: nothing, decided on the spot in the common case. */
async function close(b: Bracket, options: ResolvedOptions): Promise<readonly Leak[]> {
  if (isClean(b)) {
    closeBracket(b)
    return NONE
  }
  const { closeAndCollect } = await import('../detector/detect.js')
  return closeAndCollect(b, options)
}

async function leakError(leaks: readonly Leak[], scope: 'test' | 'file'): Promise<Error> {
  const { LeakError } = await import('../detector/errors.js')
  return new LeakError(leaks, scope)
}

function arm(): void {
  const { aroundAll, aroundEach } = vitest as unknown as Record<string, ((...args: any[]) => void) | undefined>
  if (typeof aroundEach !== 'function' || typeof aroundAll !== 'function') {
    throw new Error('leakguard needs Vitest 4.1 or later (it brackets tests with `aroundEach`); upgrade with `npm i -D vitest@latest`.')
  }
  const options = readOptions()
  const s = state()
  installHooks()
  s.enabled = true

  // The file bracket opens before the test file is imported, so module scope and describe
  // callbacks count, and closes after the file's last afterAll.
  if (s.file) s.file.closed = true
  const file = openBracket('file', null)
  // Vitest reads the hook's parameter list: the context must be written as a destructuring pattern.
  aroundAll(async (runSuite: () => Promise<void>, {}: object, suite: TaskLike | undefined) => {
    await runSuite()
    const leaks = await close(file, options)
    if (leaks.length > 0) {
      if (suite) suite.meta.leaks = leaks
      if (options.failOnLeak) throw await leakError(leaks, 'file')
    }
  })

  aroundEach(async (runTest: () => Promise<void>, { task }: { task: TaskLike }) => {
    const bracket = openBracket('test', fullName(task))
    if (task.concurrent) {
      // Async context only for concurrent tests: it is what attributes their resources, and
      // sequential tests do not pay for it.
      s.als ??= new (process.getBuiltinModule('node:async_hooks').AsyncLocalStorage)() as AsyncLocalStorage<Bracket>
      await s.als.run(bracket, runTest)
    } else {
      await runTest()
    }
    const leaks = await close(bracket, options)
    if (leaks.length > 0) {
      task.meta.leaks = leaks
      if (options.failOnLeak) throw await leakError(leaks, 'test')
    }
  })
}

if (!disabledByEnv()) arm()
