// LeakError: the failure a leaking test gets, worded like Deno's sanitizers. Light on purpose: the
// `leakguard` entry, which every test file that calls allowLeaks() loads, has a copy folded in.
import type { Leak } from './types.js'

const BRAND = Symbol.for('leakguard.LeakError')

export class LeakError extends Error {
  /** One class for every copy: the `leakguard` entry's and the one the harness loads on a leak. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }
  override readonly name = 'LeakError'
  readonly leaks: readonly Leak[]
  constructor(leaks: readonly Leak[], scope: 'test' | 'file') {
    super(formatLeaks(leaks, scope))
    Object.defineProperty(this, BRAND, { value: true })
    this.leaks = leaks
    // The stack would point into leakguard; the message already says where each leak was made.
    this.stack = `${this.name}: ${this.message}`
  }
}

export function formatLeaks(leaks: readonly Leak[], scope: 'test' | 'file'): string {
  const n = leaks.length
  const where =
    scope === 'test'
      ? 'this test'
      : 'this file outside its tests (module scope, describe callbacks, beforeAll/afterAll hooks)'
  const lines = [`${n} resource${n === 1 ? '' : 's'} leaked by ${where}:`, '']
  for (const leak of leaks) {
    lines.push(`  - ${leak.kind}: ${leak.description}`)
    lines.push(`    created at ${displaySite(leak.site)}`)
    if (leak.hint) lines.push(`    ${leak.hint}`)
    if (leak.terminated) lines.push('    leakguard terminated it after this report.')
  }
  const kinds = [...new Set(leaks.map((l) => `'${l.kind}'`))].join(', ')
  lines.push(
    '',
    scope === 'test'
      ? `If this test may keep it, call allowLeaks(${kinds}) inside the test, or add an entry to the \`allow\` option.`
      : 'If the file may keep it, add an entry to the `allow` option.',
  )
  return lines.join('\n')
}

/** A site shown to a person: relative to the working directory when it is inside it. */
export function displaySite(site: string | null, cwd = process.cwd()): string {
  if (!site) return 'an unknown place'
  const { isAbsolute, relative } = process.getBuiltinModule('node:path')
  const m = /^(.*):(\d+):(\d+)$/.exec(site)
  if (!m || !isAbsolute(m[1]!)) return site
  const rel = relative(cwd, m[1]!)
  return rel.startsWith('..') ? site : `${rel}:${m[2]}:${m[3]}`
}
