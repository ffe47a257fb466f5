// What every harness does inside the process that runs the tests, whatever the test runner: arm the
// detector, open the file and test brackets, and close them into a list of leaks. Imports no test
// runner. This module and what it imports load in every test file: the rest of the detector
// (settling, descriptions, errors) loads only when a bracket closes with something left over.
import { installHooks, patchRealm } from '../detector/hooks.js'
import type { ResolvedOptions } from '../detector/options.js'
import { closeBracket, isClean, openBracket, state, type Bracket, type Harness } from '../detector/registry.js'
import type { Leak } from '../detector/types.js'

export { contextStorage } from '../detector/registry.js'
export type { Bracket } from '../detector/registry.js'

/** Patches the resource constructors (once per thread) and turns tracking on. */
export function arm(harness: Harness): void {
  const s = state()
  installHooks()
  s.enabled = true
  s.harness = harness
}

/** The file bracket: opened before the test file (and the setup files after leakguard's) load. */
export function openFile(): Bracket {
  const s = state()
  // A test file may have a realm of its own: a vm context (vm pools, Jest), a fresh DOM window.
  patchRealm()
  // The stacks of what its tests create are formatted there (with that realm's source maps).
  s.holder = Object
  if (s.file) s.file.closed = true
  return openBracket('file', null)
}

/** After a file's bracket has closed: stacks are no longer made in this realm (it need not outlive the file). */
export function leaveRealm(): void {
  const s = state()
  if (s.holder === Object) s.holder = null
}

/** A test's bracket, named with the test's full name; `parent`: the test it runs inside (a subtest). */
export function openTest(name: string, parent: Bracket | null = null): Bracket {
  return openBracket('test', name, parent)
}

const NONE: readonly Leak[] = []

/** Closes the bracket when nothing was left over (the common case) and says so; else leaves it open for `collect`. */
export function closeIfClean(b: Bracket): boolean {
  if (!isClean(b)) return false
  closeBracket(b)
  return true
}

/** Closes a bracket: what it leaked, decided on the spot in the common case (nothing). */
export async function collect(b: Bracket, options: ResolvedOptions): Promise<readonly Leak[]> {
  if (closeIfClean(b)) return NONE
  const { closeAndCollect } = await import('../detector/detect.js')
  return closeAndCollect(b, options)
}

/** The error that fails a test (or a file) that leaked, or null when `failOnLeak` is off or nothing leaked. */
export async function leakError(leaks: readonly Leak[], phase: 'test' | 'file', options: ResolvedOptions): Promise<Error | null> {
  if (leaks.length === 0 || !options.failOnLeak) return null
  const { LeakError } = await import('../detector/errors.js')
  return new LeakError(leaks, phase)
}

/**
 * What the bracket left alive (reported, or allowed) no longer keeps the process alive (see
 * unrefLeftAlive); nor do handles of the types in `types` (leaks known only by type).
 */
export async function letGo(b: Bracket, types: ReadonlySet<string> = new Set()): Promise<void> {
  if (!b.records.some((r) => r.verdict) && types.size === 0) return
  const { unrefHandlesOfTypes, unrefLeftAlive } = await import('../detector/detect.js')
  unrefLeftAlive(b)
  unrefHandlesOfTypes(types)
}
