// LeakError: the failure a leaking test gets, worded like Deno's sanitizers.
import { displaySite } from './detect.js'
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
