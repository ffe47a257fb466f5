// allowLeaks(): inside a test, lets it keep resources of some kinds.
import { assertKind } from '../detector/options.js'
import { allowInCurrent } from '../detector/registry.js'
import type { LeakKind } from '../detector/types.js'

/**
 * Lets the running test keep resources of the given kinds: they are not reported as leaks.
 * Does nothing when leakguard is off.
 * @example
 * test('starts a shared cache', () => {
 *   allowLeaks('timer')
 *   startCacheRefresh()
 * })
 */
export function allowLeaks(...kinds: LeakKind[]): void {
  if (kinds.length === 0) throw new TypeError("leakguard: allowLeaks() needs at least one kind, e.g. allowLeaks('timer').")
  kinds.forEach((k, i) => assertKind(k, `allowLeaks() argument ${i + 1}`))
  allowInCurrent(kinds)
}
