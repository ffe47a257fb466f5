// The gate's matching, from code: identity without line numbers, multisets, unknown functions.
import { describe, expect, test } from 'vitest'
import { join } from 'node:path'
import { baselineEntry, compare, formatBaseline, gate, type BaselineEntry } from '../../src/reporters/gate.js'
import type { ReportLeak } from '../../src/reporters/schema.js'

const REPORTS = join(import.meta.dirname, '..', 'fixtures', 'reporter', 'reports')

function leak(over: Partial<ReportLeak> = {}): ReportLeak {
  return {
    file: 'test/a.test.ts',
    test: 'a > b',
    phase: 'test',
    kind: 'server',
    description: 'HTTP server listening on 127.0.0.1:1',
    site: 'test/helpers.ts:10:3',
    siteFunction: 'startServer',
    hint: '',
    details: {},
    ...over,
  }
}

describe('compare', () => {
  test('identity is file, test, kind, site file and function; not line, column or description', () => {
    const base = [baselineEntry(leak())]
    expect(compare([leak({ site: 'test/helpers.ts:99:1', description: 'other port' })], base).newLeaks).toEqual([])
    for (const change of [{ file: 'x' }, { test: 'a > c' }, { kind: 'timer' as const }, { site: 'test/other.ts:10:3' }, { siteFunction: 'startOther' }]) {
      expect(compare([leak(change)], base).newLeaks).toHaveLength(1)
    }
  })

  test('two equal leaks need two baseline entries', () => {
    const r = compare([leak(), leak()], [baselineEntry(leak())])
    expect(r.newLeaks).toHaveLength(1)
    expect(r.knownLeaks).toHaveLength(1)
    expect(r.fixed).toEqual([])
  })

  test('an unknown function (null) on either side matches any function', () => {
    expect(compare([leak({ siteFunction: null })], [baselineEntry(leak())]).newLeaks).toEqual([])
    expect(compare([leak()], [baselineEntry(leak({ siteFunction: null }))]).newLeaks).toEqual([])
    // An exact match is preferred, so a null entry is left for the leak that needs it.
    const entries: BaselineEntry[] = [baselineEntry(leak({ siteFunction: null })), baselineEntry(leak())]
    expect(compare([leak(), leak({ siteFunction: 'other' })], entries).newLeaks).toEqual([])
  })

  test('baseline entries with no leak are fixed', () => {
    expect(compare([], [baselineEntry(leak())]).fixed).toEqual([baselineEntry(leak())])
  })

  test('formatBaseline sorts and fixes the key order', () => {
    const a = baselineEntry(leak({ file: 'b' }))
    const b = baselineEntry(leak({ file: 'a', test: null }))
    expect(formatBaseline([a, b])).toBe(formatBaseline([b, a]))
    expect(JSON.parse(formatBaseline([a, b])).leaks.map((e: BaselineEntry) => e.file)).toEqual(['a', 'b'])
  })
})

describe('gate()', () => {
  test('is the API behind the CLI', () => {
    const r = gate({ report: 'new.json', baseline: 'baseline.json', cwd: REPORTS })
    expect(r.exitCode).toBe(1)
    expect(r.newLeaks.map((l) => l.kind)).toEqual(['child-process'])
    expect(r.knownLeaks).toHaveLength(2)
    expect(r.baselineUpdated).toBe(false)
  })

  test('bad options are TypeErrors naming the option', () => {
    expect(() => gate({ report: '' })).toThrow(new TypeError('gate: `report` must be a non-empty path; received "".'))
    expect(() => gate({ baseline: 3 as never })).toThrow(/`baseline` must be a non-empty path/)
  })
})
