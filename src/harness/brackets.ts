// What both Vitest harnesses do inside a test worker, on top of core.ts: read the plugin's options,
// name brackets with Vitest's full names, and turn what a bracket leaked into the task's meta and
// error. The runner (runner.ts) calls these from Vitest's runner hooks; the setup file (setup.ts)
// from aroundAll/aroundEach.
import * as vitest from 'vitest'
import { deserializeAllow, validateOptions, type ResolvedOptions, type SerializedAllow } from '../detector/options.js'
import { arm as armCore, collect, leakError, openTest as openTestCore, type Bracket } from './core.js'
import { PROVIDE_KEY } from './env.js'

export interface TaskLike {
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

/** Reads the options the plugin provided, patches the resource constructors and turns tracking on. */
export function arm(harness: 'runner' | 'hooks'): ResolvedOptions {
  const options = readOptions()
  armCore(harness)
  return options
}

/** A test's bracket, named with Vitest's full name. */
export function openTest(task: TaskLike): Bracket {
  return openTestCore(fullName(task))
}

export { contextStorage, openFile } from './core.js'

/**
 * Closes a bracket and records its leaks in the task's meta (the reporter reads them there).
 * Returns the error that fails the task, or null.
 */
export async function closeInto(b: Bracket, task: TaskLike | undefined, options: ResolvedOptions): Promise<Error | null> {
  const leaks = await collect(b, options)
  if (leaks.length === 0) return null
  if (task) task.meta.leaks = leaks
  return leakError(leaks, b.type, options)
}
