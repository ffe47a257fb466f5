// The leak zoo under node:test: `node --test --import leakguard/node-test` on the zoo's fixtures
// (ported by test/helpers/port-zoo.ts), with the same verdicts as under Vitest (zoo.test.ts).
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { portZoo, type PortedZoo } from './helpers/port-zoo.js'
import { runNodeTest, type NodeTestOutcome, type NodeTestRun } from './helpers/run-node-test.js'
import { ROOT, siteOf } from './helpers/run-vitest.js'
import { CLEAN, LEAKS } from './helpers/zoo-cases.js'

const SHIM = join(ROOT, 'test', 'fixtures', 'shims', 'node-test.mjs')

let zoo: PortedZoo
let run: NodeTestRun

/** The entry node:test adds for a test file whose process failed: named by its path (Node 24: relative). */
function isFileEntry(o: NodeTestOutcome): boolean {
  return o.name === o.file || o.file.endsWith(`/${o.name}`)
}

function outcome(file: string, name: string): NodeTestOutcome {
  const path = join(zoo.dir, zoo.name(file))
  const o = run.outcomes.find((t) => t.file === path && t.name === name)
  if (!o) throw new Error(`no test "${name}" in ${file}; have: ${run.outcomes.map((t) => `${relative(zoo.dir, t.file)} > ${t.name}`).join(', ')}`)
  return o
}

beforeAll(async () => {
  zoo = portZoo('esm', SHIM)
  const allowFile = join(zoo.dir, zoo.name('allow.test.ts'))
  const allowLine = readFileSync(allowFile, 'utf8').split('\n').findIndex((l) => l.includes('allowed-by-config')) + 1
  writeFileSync(join(zoo.dir, 'leakguard.config.json'), JSON.stringify({ allow: [{ kind: 'timer', site: { source: `allow\\.test\\.mjs:${allowLine}:` } }] }))
  const files = [...new Set([...LEAKS.map((c) => c.file), ...CLEAN.map(([f]) => f)])].map(zoo.name)
  run = await runNodeTest(zoo.dir, files, { env: { ZOO_HARNESS: 'node-test' } })
}, 180_000)

afterAll(() => {
  if (zoo) rmSync(dirname(zoo.dir), { recursive: true, force: true })
})

describe('node:test: the leak zoo', () => {
  test('the run fails, and ends by itself', () => {
    expect(run.code).toBe(1)
  })

  describe('leaks are caught', () => {
    test.each(LEAKS)('$file > $test', (c) => {
      const o = outcome(c.file, c.test)
      expect(o.state).toBe('failed')
      expect(o.error).toMatch(/^LeakError: 1 resource leaked by this test:/)
      const entries = run.report!.leaks.filter((l) => l.file === zoo.name(c.file) && l.test === c.test)
      expect(entries).toHaveLength(1)
      const leak = entries[0]!
      expect(leak.kind).toBe(c.kind)
      expect(leak.description).toMatch(zoo.pattern(c.description))
      expect(leak.hint).toMatch(c.hint)
      expect(o.error).toContain(leak.description)
      expect(o.error).toContain(leak.hint)
      expect(o.error).toContain(`allowLeaks('${c.kind}')`)
      if (c.site === null) expect(leak.site).toBeNull()
      else {
        const site = siteOf(join(zoo.dir, zoo.name(c.file)), c.site)
        expect(leak.site).toContain(relative(zoo.dir, site))
        expect(o.error).toContain(`created at ${relative(zoo.dir, site)}`)
      }
    })
  })

  describe('not leaks', () => {
    test.each(CLEAN)('%s > %s', (file, name) => {
      const o = outcome(file, name)
      expect(o.error).toBeNull()
      expect(o.state).toBe('passed')
      expect(run.report!.leaks.filter((l) => l.file === zoo.name(file) && l.test === name)).toEqual([])
    })
  })

  test('a concurrent leak fails only its test; the neighbour that ran alongside passes', () => {
    expect(outcome('concurrent.test.ts', 'concurrent > the leaky one').state).toBe('failed')
    expect(outcome('concurrent.test.ts', 'concurrent > a clean neighbour').state).toBe('passed')
    expect(run.report!.leaks.filter((l) => l.file === zoo.name('concurrent.test.ts') && l.test === null)).toEqual([])
  })

  test('module scope and before/after hooks leak for the file; the file fails', () => {
    const file = zoo.name('file-level.test.ts')
    const fileLeaks = run.report!.leaks.filter((l) => l.test === null && l.file === file)
    expect(fileLeaks.map((l) => `${l.file} ${l.kind} ${l.phase}`).sort()).toEqual([`${file} server file`, `${file} timer file`])
    const path = join(zoo.dir, file)
    expect(fileLeaks.map((l) => l.site)).toEqual(
      expect.arrayContaining([siteOf(path, 'beforeall-server'), siteOf(path, 'module-interval')].map((s) => expect.stringContaining(relative(zoo.dir, s)))),
    )
    expect(run.stderr).toMatch(/^2 resources leaked by this file outside its tests/m)
  })

  test('report.json: one report for the run, every leak once', () => {
    const r = run.report!
    expect(r.schemaVersion).toBe(1)
    expect(r.runner).toBe('node:test')
    expect(r.vitestVersion).toBe(process.versions.node)
    expect(r.leaks.filter((l) => l.test !== null)).toHaveLength(LEAKS.length)
    expect(r.leaks.filter((l) => l.test === null)).toHaveLength(2)
    expect(r.totals.testsChecked).toBe(run.outcomes.filter((o) => !isFileEntry(o)).length)
  })

  test('leaked processes were terminated: none is alive after the run', () => {
    const pids = run.report!.leaks.filter((l) => l.kind === 'child-process').map((l) => Number(l.details.pid))
    expect(pids).toHaveLength(LEAKS.filter((c) => c.kind === 'child-process').length)
    for (const pid of pids) {
      let state = 'gone'
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        state = stat.charAt(stat.lastIndexOf(')') + 2) === 'Z' ? 'gone' : stat
      } catch {}
      expect(state, `process ${pid}`).toBe('gone')
    }
  })
})
