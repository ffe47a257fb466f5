// What both harnesses do inside a test worker: arm the detector, open the file and test brackets,
// and turn what a bracket leaked into the task's meta and error. The runner (runner.ts) calls these
// from Vitest's runner hooks; the setup file (setup.ts) from aroundAll/aroundEach.
// This module and what it imports load in every test file: the rest of the detector (settling,
// descriptions, errors) loads only when a bracket closes with something left over.
import * as vitest from 'vitest'
import { installHooks, patchRealm } from '../detector/hooks.js'
import { deserializeAllow, validateOptions, type ResolvedOptions, type SerializedAllow } from '../detector/options.js'
import { closeBracket, isClean, openBracket, state, type Bracket } from '../detector/registry.js'
import type { Leak } from '../detector/types.js'
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

/** Reads the options, patches the resource constructors (once per thread) and turns tracking on. */
export function arm(harness: 'runner' | 'hooks'): ResolvedOptions {
  const options = readOptions()
  const s = state()
  installHooks()
  s.enabled = true
  s.harness = harness
  return options
}

/** The file bracket: opened before the test file (and the setup files after leakguard's) load. */
export function openFile(): Bracket {
  const s = state()
  // A test file may have a realm of its own: a vm context (vm pools), a fresh DOM window.
  patchRealm()
  if (s.file) s.file.closed = true
  return openBracket('file', null)
}

/** A test's bracket, named with the test's full name. */
export function openTest(task: TaskLike): Bracket {
  return openBracket('test', fullName(task))
}

export { contextStorage } from '../detector/registry.js'

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

/**
 * Closes a bracket and records its leaks in the task's meta (the reporter reads them there).
 * Returns the error that fails the task, or null.
 */
export async function closeInto(b: Bracket, task: TaskLike | undefined, options: ResolvedOptions): Promise<Error | null> {
  const leaks = await close(b, options)
  if (leaks.length === 0) return null
  if (task) task.meta.leaks = leaks
  if (!options.failOnLeak) return null
  const { LeakError } = await import('../detector/errors.js')
  return new LeakError(leaks, b.type)
}
