// The reporter's pure parts: GitHub escaping, colour decision, code frames, report checks.
import { describe, expect, test } from 'vitest'
import { annotations, escapeData, escapeProperty, stepSummary } from '../../src/reporters/github.js'
import { codeFrame, colorsEnabled, createColors, renderReport } from '../../src/reporters/terminal.js'
import { checkReport, computeTotals, ReportInputError, type Report, type ReportLeak } from '../../src/reporters/schema.js'

const leak: ReportLeak = {
  file: 'test/a,b.test.ts',
  test: 'suite: one > 100% done\nnext',
  phase: 'test',
  kind: 'server',
  description: 'HTTP server listening on 127.0.0.1:4000 | x',
  site: 'test/a,b.test.ts:3:5',
  siteFunction: null,
  hint: 'Close the server with `server.close()`.',
  details: {},
}

function report(leaks: ReportLeak[]): Report {
  return {
    schemaVersion: 1,
    leakguardVersion: '0.0.0',
    vitestVersion: '4.1.0',
    startedAt: new Date(0).toISOString(),
    shard: null,
    merged: false,
    interrupted: false,
    totals: computeTotals(leaks, 5),
    leaks,
  }
}

describe('GitHub workflow commands', () => {
  test.each([
    ['100%', '100%25', '100%25'],
    ['a\nb\r', 'a%0Ab%0D', 'a%0Ab%0D'],
    ['x: y, z', 'x: y, z', 'x%3A y%2C z'],
  ])('%j: data %j, property %j', (input, data, property) => {
    expect(escapeData(input)).toBe(data)
    expect(escapeProperty(input)).toBe(property)
  })

  test('an annotation is one line with escaped properties and message', () => {
    const [line] = annotations(report([leak]), '/repo', '/repo')
    expect(line).toBe(
      '::error file=test/a%2Cb.test.ts,line=3,col=5,title=leakguard%3A server leaked by "suite%3A one > 100%25 done%0Anext"::' +
        'HTTP server listening on 127.0.0.1:4000 | x%0ALeaked by test/a,b.test.ts > suite: one > 100%25 done%0Anext.%0AClose the server with `server.close()`.',
    )
  })

  test('without a site, the annotation points at the test file; paths are relative to the workspace', () => {
    const [line] = annotations(report([{ ...leak, site: null }]), '/repo/pkg', '/repo')
    expect(line).toMatch(/^::error file=pkg\/test\/a%2Cb\.test\.ts,title=/)
  })

  test('the step summary escapes pipes and line breaks in cells', () => {
    const md = stepSummary(report([leak]))
    const row = md.split('\n').find((l) => l.startsWith('| `test'))!
    expect(row).toBe(
      '| `test/a,b.test.ts` | suite: one > 100% done next | server | HTTP server listening on 127.0.0.1:4000 \\| x | `test/a,b.test.ts:3:5` | Close the server with `server.close()`. |',
    )
    expect(stepSummary(report([]))).toBe('### leakguard: no leaks\n\n5 tests checked.\n\n')
  })
})

describe('colours follow Vitest', () => {
  test.each([
    [{ TERM: 'xterm' }, [], false, true],
    [{ TERM: 'xterm', NO_COLOR: '' }, [], false, false],
    [{ TERM: 'xterm' }, ['--no-color'], false, false],
    [{ TERM: 'dumb' }, [], false, process.platform === 'win32'],
    [{ TERM: 'dumb', FORCE_COLOR: '1' }, [], false, true],
    [{ TERM: 'dumb', CI: 'true' }, [], false, true],
    [{ TERM: 'xterm', FORCE_TTY: 'false' }, [], false, process.platform === 'win32'],
    // Vitest turns colours off under a coding agent, unless they are forced.
    [{ TERM: 'xterm' }, [], true, false],
    [{ TERM: 'xterm', FORCE_COLOR: '1' }, [], true, true],
  ] as const)('env %j, argv %j, agent %s → %s', (env, argv, agent, expected) => {
    expect(colorsEnabled(env, argv, agent)).toBe(expected)
  })

  test('escape codes only when enabled', () => {
    const on = renderReport(report([leak]), { colors: createColors(true), root: '/nowhere', reportPath: null, read: () => null })
    const off = renderReport(report([leak]), { colors: createColors(false), root: '/nowhere', reportPath: null, read: () => null })
    expect(on).toMatch(/\x1b\[/)
    expect(off).not.toMatch(/\x1b\[/)
  })
})

describe('code frame', () => {
  const c = createColors(false)
  const src = 'one\n\ttwo()\nthree\n'
  test('three lines, the site marked, a caret under the column (tabs widened)', () => {
    expect(codeFrame('f', 2, 2, c, () => src)).toEqual(['  1| one', '> 2|   two()', '   |   ^', '  3| three'])
  })
  test('first line, and a line out of range', () => {
    expect(codeFrame('f', 1, 1, c, () => src)).toEqual(['> 1| one', '   | ^', '  2|   two()'])
    expect(codeFrame('f', 40, 1, c, () => src)).toBeNull()
    expect(codeFrame('f', 1, 1, c, () => null)).toBeNull()
  })
})

describe('checkReport', () => {
  test.each([
    [[], /top level is an array/],
    [{}, /no `schemaVersion`/],
    [{ schemaVersion: 2, leaks: [] }, /schemaVersion 2, this leakguard reads version 1/],
    [{ schemaVersion: 1 }, /no `leaks` array/],
    [{ schemaVersion: 1, leaks: [{ file: 'a' }] }, /leaks\[0\] lacks/],
  ])('%j is rejected', (data, message) => {
    expect(() => checkReport(data, 'r.json')).toThrow(ReportInputError)
    expect(() => checkReport(data, 'r.json')).toThrow(message)
  })
})
