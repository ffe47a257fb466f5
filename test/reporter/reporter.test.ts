// The reporter, run through Vitest from code on small fixture suites: terminal text, the JSON
// report, GitHub Actions output, a failed write, and a two-shard merge.
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LEAK_KINDS } from '../../src/detector/types.js'
import type { ReportLeak } from 'leakguard'
import { leakBlock, normalize, removeDir, ROOT, runSuite, SUITE, tempDir, withEnv, type Run } from './helpers.js'

const SAMPLE = join(ROOT, 'test', 'fixtures', 'reporter', 'sample-output.txt')
const README_MARKER = '<!-- leakguard:reporter-sample -->'

/** Line of the first line containing `text` in a fixture file of the suite (no markers: the README shows these files). */
function lineOf(file: string, text: string): number {
  const at = readFileSync(join(SUITE, file), 'utf8').split('\n').findIndex((l) => l.includes(text))
  if (at === -1) throw new Error(`no "${text}" in ${file}`)
  return at + 1
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

const EXPECTED = [
  { file: 'test/api.test.ts', test: 'api > creates a user', kind: 'server', marker: 'server.listen(', description: /^HTTP server listening on 127\.0\.0\.1:\d+$/ },
  { file: 'test/api.test.ts', test: 'polls for jobs', kind: 'timer', marker: 'setInterval(() => {}, 1000)', description: /^setInterval every 1000 ms$/ },
  { file: 'test/hooks.test.ts', test: null, kind: 'timer', marker: 'setInterval(() => {}, 5000)', description: /^setInterval every 5000 ms$/ },
] as const

/** What identifies a leak across runs (ports differ). */
function identity(l: ReportLeak): string {
  return `${l.file} | ${l.test} | ${l.kind} | ${l.site}`
}

describe('a run with leaks', () => {
  let dir: string
  let run: Run
  beforeAll(async () => {
    dir = tempDir()
    run = await withEnv({ GITHUB_ACTIONS: undefined, NO_COLOR: '1', FORCE_COLOR: undefined }, () =>
      runSuite({ outputFile: join(dir, 'report.json') }),
    )
  })
  afterAll(() => removeDir(dir))

  test('prints after Vitest\'s summary: by file, then test; file-level leaks under their file', () => {
    const out = run.output
    const summary = out.indexOf('Test Files')
    const block = out.indexOf(' Leaks 3 ')
    expect(summary).toBeGreaterThan(-1)
    expect(block).toBeGreaterThan(summary)
    const order = [' test/api.test.ts', '   › api > creates a user', '   › polls for jobs', ' test/hooks.test.ts', '   › (file) module scope']
    const at = order.map((s) => out.indexOf(s, block))
    expect(at.every((i) => i > -1)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  test.each(EXPECTED)('$kind leak of $file > $test: kind, description, code frame, hint', (c) => {
    const block = leakBlock(run.output)
    const line = lineOf(c.file, c.marker)
    const site = new RegExp(`❯ ${esc(c.file)}:${line}:(\\d+)\\n`)
    const m = site.exec(block)
    expect(m, block).not.toBeNull()
    const col = Number(m![1])
    // The frame: the line before, the site line marked with `>`, a caret under the column, the line after.
    const rest = block.slice(m!.index + m![0].length).split('\n')
    expect(rest[0]).toMatch(new RegExp(`^ {7}${line - 1}\\| `))
    expect(rest[1]).toMatch(new RegExp(`^ {5}> ${line}\\| `))
    expect(rest[1]).toContain(c.marker)
    const caretLine = rest[2]!
    const bar = rest[1]!.indexOf('|')
    expect(caretLine.indexOf('|')).toBe(bar)
    expect(caretLine.indexOf('^')).toBe(bar + 2 + (col - 1))
    expect(rest[3]).toMatch(new RegExp(`^ {7}${line + 1}\\| `))
    expect(rest[4]).toMatch(/^ {5}→ \S/)
    expect(block).toMatch(new RegExp(`${c.kind}  ${c.description.source.slice(1, -1)}`))
  })

  test('ends with the summary line `Leaks  N in M tests (K files)` and where the report went', () => {
    const last = leakBlock(run.output).split('\n').at(-1)
    expect(last).toBe(`      Leaks  3 in 2 tests (2 files) · report: ${join(dir, 'report.json')}`)
  })

  test('the README sample is this output (test/fixtures/reporter/sample-output.txt)', () => {
    expect(normalize(leakBlock(run.output))).toBe(readFileSync(SAMPLE, 'utf8').trimEnd())
  })

  test('README.md shows the same sample', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain(README_MARKER)
    expect(readme).toContain(readFileSync(SAMPLE, 'utf8').trimEnd())
  })

  test('report.json, schema version 1: versions, run start, totals, leaks with file, test, phase, kind, site, details', () => {
    const r = run.report!
    expect(r.schemaVersion).toBe(1)
    expect(r.leakguardVersion).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    expect(r.vitestVersion).toBe(JSON.parse(readFileSync(join(ROOT, 'node_modules', 'vitest', 'package.json'), 'utf8')).version)
    expect(Date.now() - Date.parse(r.startedAt)).toBeGreaterThanOrEqual(0)
    expect(Date.now() - Date.parse(r.startedAt)).toBeLessThan(120_000)
    expect(r.shard).toBeNull()
    expect(r.merged).toBe(false)
    expect(r.interrupted).toBe(false)
    expect(r.totals).toEqual({
      testsChecked: 6,
      testsLeaking: 2,
      filesLeaking: 2,
      leaks: 3,
      byKind: { ...Object.fromEntries(LEAK_KINDS.map((k) => [k, 0])), server: 1, timer: 2 },
    })
    expect(r.leaks).toHaveLength(3)
    for (const [i, c] of EXPECTED.entries()) {
      const leak = r.leaks[i]!
      expect(leak).toMatchObject({ file: c.file, test: c.test, kind: c.kind, phase: c.test === null ? 'file' : 'test', siteFunction: null })
      expect(leak.description).toMatch(c.description)
      expect(leak.site).toMatch(new RegExp(`^${esc(c.file)}:${lineOf(c.file, c.marker)}:\\d+$`))
      expect(leak.hint).not.toBe('')
    }
    expect(r.leaks[0]!.details).toMatchObject({ address: '127.0.0.1', port: expect.any(Number) })
    expect(r.leaks[1]!.details).toMatchObject({ delay: 1000, repeat: true })
  })

  test('is written through a temporary file and a rename: nothing else is left in the folder', () => {
    expect(readdirSync(dir)).toEqual(['report.json'])
  })
})

describe('a clean run', () => {
  let dir: string
  let run: Run
  beforeAll(async () => {
    dir = tempDir()
    run = await withEnv({ GITHUB_ACTIONS: undefined, NO_COLOR: '1' }, () =>
      runSuite({ include: ['test/clean.test.ts'], outputFile: join(dir, 'out', 'report.json') }),
    )
  })
  afterAll(() => removeDir(dir))

  test('prints one quiet `no leaks` line', () => {
    const mine = run.output.split('\n').filter((l) => /Leaks|leakguard/.test(l))
    expect(mine).toEqual([`      Leaks  no leaks (2 tests checked) · report: ${join(dir, 'out', 'report.json')}`])
    expect(run.exitCode ?? 0).toBe(0)
  })

  test('writes an empty report, creating its folder', () => {
    expect(run.report).toMatchObject({ schemaVersion: 1, leaks: [], totals: { testsChecked: 2, testsLeaking: 0, filesLeaking: 0, leaks: 0 } })
  })
})

describe('GitHub Actions (GITHUB_ACTIONS=true)', () => {
  let dir: string
  let run: Run
  let summary: string
  beforeAll(async () => {
    dir = tempDir()
    const summaryFile = join(dir, 'step-summary.md')
    writeFileSync(summaryFile, 'earlier step\n')
    run = await withEnv(
      { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile, GITHUB_WORKSPACE: ROOT, NO_COLOR: '1' },
      () => runSuite({ outputFile: join(dir, 'report.json') }),
    )
    summary = readFileSync(summaryFile, 'utf8')
  })
  afterAll(() => removeDir(dir))

  test('one ::error annotation per leak, at its creation site, escaped', () => {
    const lines = run.output.split('\n').filter((l) => l.startsWith('::error '))
    expect(lines).toHaveLength(3)
    const prefix = 'test/fixtures/reporter/suite/'
    const server = lineOf('test/api.test.ts', 'server.listen(')
    expect(lines[0]).toMatch(
      new RegExp(
        `^::error file=${prefix}test/api\\.test\\.ts,line=${server},col=\\d+,title=leakguard%3A server leaked by "api > creates a user"::` +
          'HTTP server listening on 127\\.0\\.0\\.1:\\d+%0ALeaked by test/api\\.test\\.ts > api > creates a user\\.%0AClose the server with `server\\.close\\(\\)`',
      ),
    )
    expect(lines[2]).toMatch(
      new RegExp(`^::error file=${prefix}test/hooks\\.test\\.ts,line=${lineOf('test/hooks.test.ts', 'setInterval(')},col=3,title=leakguard%3A timer leaked by test/hooks\\.test\\.ts::setInterval every 5000 ms%0A`),
    )
    // Every line break of a message is escaped: an annotation is one line.
    for (const l of lines) expect(l.split('::').length).toBe(3)
  })

  test('appends a Markdown table to $GITHUB_STEP_SUMMARY', () => {
    expect(summary.startsWith('earlier step\n### leakguard: 3 leaks in 2 tests (2 files)\n')).toBe(true)
    const rows = summary.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    expect(rows[0]).toBe('| File | Test | Kind | Leak | Created at | Fix |')
    expect(rows).toHaveLength(4)
    expect(rows[1]).toMatch(/^\| `test\/api\.test\.ts` \| api > creates a user \| server \| HTTP server listening on 127\.0\.0\.1:\d+ \| `test\/api\.test\.ts:\d+:\d+` \| Close the server/)
    expect(rows[3]).toMatch(/^\| `test\/hooks\.test\.ts` \| _\(file\)_ \| timer \| setInterval every 5000 ms \|/)
  })
})

describe('a report that cannot be written', () => {
  let dir: string
  let run: Run
  beforeAll(async () => {
    dir = tempDir()
    // A file where the report's folder should be: mkdir fails with ENOTDIR.
    writeFileSync(join(dir, 'blocked'), '')
    run = await withEnv({ GITHUB_ACTIONS: undefined, NO_COLOR: '1' }, () =>
      runSuite({ include: ['test/clean.test.ts'], outputFile: join(dir, 'blocked', 'report.json') }),
    )
  })
  afterAll(() => removeDir(dir))

  test('fails the run (exit code 1) with one line that says what to do', () => {
    expect(run.exitCode).toBe(1)
    const errors = run.output.split('\n').filter((l) => l.includes('could not write'))
    expect(errors).toHaveLength(1)
    // mkdir reports ENOTDIR or EEXIST for a file in the way, depending on the platform.
    expect(errors[0]).toMatch(
      /^\[leakguard\] could not write the leak report to \S+\/blocked\/report\.json \((ENOTDIR|EEXIST)\); make that folder writable or set `outputFile` to a writable path\.$/,
    )
    // The leaks are still shown; only the report path is missing from the summary.
    expect(run.output).toContain('      Leaks  no leaks (2 tests checked)\n')
    expect(readdirSync(dir)).toEqual(['blocked'])
  })
})

describe('sharding: --shard=1/2 and 2/2 with the blob reporter, then --merge-reports', () => {
  let dir: string
  let whole: Run
  let merged: Run
  beforeAll(async () => {
    dir = tempDir()
    await withEnv({ GITHUB_ACTIONS: undefined, NO_COLOR: '1' }, async () => {
      whole = await runSuite({ outputFile: join(dir, 'whole.json') })
      for (const shard of ['1/2', '2/2']) {
        // Like `vitest --shard=1/2 --reporter=blob`: reporters given to the CLI replace the config's.
        await runSuite({
          outputFile: join(dir, 'shard.json'),
          vitest: { shard, reporter: ['blob'], reporters: ['blob'], outputFile: { blob: join(dir, 'blobs', `blob-${shard[0]}.json`) } },
        })
      }
      merged = await runSuite({ outputFile: join(dir, 'merged.json'), vitest: { mergeReports: join(dir, 'blobs') } })
    })
  })
  afterAll(() => removeDir(dir))

  test('each shard wrote a blob and no leak report of its own', () => {
    expect(readdirSync(join(dir, 'blobs')).sort()).toEqual(['blob-1.json', 'blob-2.json'])
    expect(existsSync(join(dir, 'shard.json'))).toBe(false)
  })

  test('the merged run reports every leak of every shard, once', () => {
    const m = merged.report!
    expect(m.merged).toBe(true)
    expect(m.leaks.map(identity)).toEqual(whole.report!.leaks.map(identity))
    expect(new Set(m.leaks.map(identity)).size).toBe(3)
    expect(m.totals).toEqual(whole.report!.totals)
    expect(normalize(leakBlock(merged.output)).replace(/report: \S+/, '')).toBe(normalize(leakBlock(whole.output)).replace(/report: \S+/, ''))
  })
})
