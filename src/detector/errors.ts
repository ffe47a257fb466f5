// LeakError: the failure a leaking test gets, worded like Deno's sanitizers. Light on purpose: the
// `leakguard` entry exports it, and it loads in every test file that imports that.
import { isAbsolute, relative } from 'node:path'
import type { Leak } from './types.js'

export class LeakError extends Error {
  override readonly name = 'LeakError'
  readonly leaks: readonly Leak[]
  constructor(leaks: readonly Leak[], scope: 'test' | 'file') {
    super(formatLeaks(leaks, scope))
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
  const m = /^(.*):(\d+):(\d+)$/.exec(site)
  if (!m || !isAbsolute(m[1]!)) return site
  const rel = relative(cwd, m[1]!)
  return rel.startsWith('..') ? site : `${rel}:${m[2]}:${m[3]}`
}
