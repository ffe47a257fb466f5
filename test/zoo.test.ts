// The leak zoo: every kind of leak, every not-a-leak case, run through Vitest from code.
import { beforeAll, describe, expect, test } from 'vitest'
import { join, relative } from 'node:path'
import { readFileSync } from 'node:fs'
import { HARNESS_RUNS, harnessOptions, runFixtures, siteOf, type FixtureRun, type TestOutcome } from './helpers/run-vitest.js'
import { CLEAN, LEAKS as ALL_LEAKS, processState } from './helpers/zoo-cases.js'

const ZOO = join(import.meta.dirname, 'fixtures', 'zoo')
const allowLine = readFileSync(join(ZOO, 'allow.test.ts'), 'utf8').split('\n').findIndex((l) => l.includes('allowed-by-config')) + 1

function outcome(run: FixtureRun, file: string, name: string): TestOutcome {
  const o = run.tests.get(`${file} > ${name}`)
  if (!o) throw new Error(`no test "${name}" in ${file}; have: ${[...run.tests.keys()].join(', ')}`)
  return o
}

/** In a worker thread, a MessagePort is not counted (the runner's own come and go): that case is not a leak there. */
const MESSAGE_PORT = (c: { file: string; test: string }) => c.file === 'workers-fds.test.ts' && c.test === 'leaks a message port'

describe.each(HARNESS_RUNS)('$pool pool, $harness harness', ({ pool, harness }) => {
  const LEAKS = pool === 'threads' ? ALL_LEAKS.filter((c) => !MESSAGE_PORT(c)) : ALL_LEAKS
  let run: FixtureRun
  beforeAll(async () => {
    run = await runFixtures(ZOO, ['*.test.ts'], {
      pool,
      ...harnessOptions(harness),
      leakguard: { allow: [{ kind: 'timer', site: new RegExp(`allow\\.test\\.ts:${allowLine}:`) }] },
    })
  })

  describe('leaks are caught', () => {
    test.each(LEAKS)('$file > $test', (c) => {
      const o = outcome(run, c.file, c.test)
      expect(o.state).toBe('failed')
      // The leaks themselves in the message: a second one has shown up once in a while (threads pool).
      expect(o.leaks, JSON.stringify(o.leaks)).toHaveLength(1)
      const leak = o.leaks[0]!
      expect(leak.kind).toBe(c.kind)
      expect(leak.description).toMatch(c.description)
      expect(leak.hint).toMatch(c.hint)
      if (c.site === null) expect(leak.site).toBeNull()
      else expect(leak.site).toContain(siteOf(join(ZOO, c.file), c.site))
      // The failure message names the resource, where it was created and the fix.
      expect(o.errors).toHaveLength(1)
      expect(o.errors[0]).toMatch(/^LeakError: 1 resource leaked by this test:/)
      expect(o.errors[0]).toContain(leak.description)
      expect(o.errors[0]).toContain(leak.hint)
      if (c.site !== null) expect(o.errors[0]).toContain(`created at ${relative(process.cwd(), siteOf(join(ZOO, c.file), c.site))}`)
      expect(o.errors[0]).toContain(`allowLeaks('${c.kind}')`)
    })
  })

  describe('not leaks', () => {
    test.each(CLEAN)('%s > %s', (file, name) => {
      const o = outcome(run, file, name)
      expect(o.errors).toEqual([])
      expect(o.state).toBe('passed')
      expect(o.leaks).toEqual([])
    })
  })

  describe('file-level leaks', () => {
    test('module scope and beforeAll leaks are reported for the file, test leaks are not repeated', () => {
      const f = run.files.get('file-level.test.ts')!
      const sites = f.leaks.map((l) => `${l.kind} ${l.site}`)
      expect(f.leaks).toHaveLength(2)
      expect(sites).toEqual(
        expect.arrayContaining([
          expect.stringContaining(`timer ${siteOf(join(ZOO, 'file-level.test.ts'), 'module-interval')}`),
          expect.stringContaining(`server ${siteOf(join(ZOO, 'file-level.test.ts'), 'beforeall-server')}`),
        ]),
      )
      expect(f.errors.join('\n')).toMatch(/LeakError: 2 resources leaked by this file outside its tests/)
    })

    test('files without file-level leaks carry none', () => {
      for (const [file, f] of run.files) {
        if (file === 'file-level.test.ts') continue
        expect({ file, leaks: f.leaks }).toEqual({ file, leaks: [] })
      }
    })
  })

  test.runIf(pool === 'threads')('in a worker thread, a MessagePort is not counted: the message-port case passes', () => {
    expect(outcome(run, 'workers-fds.test.ts', 'leaks a message port').state).toBe('passed')
    expect(run.report.leaks.filter((l) => l.kind === 'other')).toEqual([])
  })

  describe('report.json', () => {
    test('lists every leak once, with file, test, kind, description and a root-relative site', () => {
      const testLeaks = run.report.leaks.filter((l) => l.test !== null)
      expect(run.report.schemaVersion).toBe(1)
      expect(testLeaks).toHaveLength(LEAKS.length)
      for (const c of LEAKS) {
        const entry = run.report.leaks.find((l) => l.file === c.file && l.test === c.test)
        expect(entry, `${c.file} > ${c.test}`).toBeDefined()
        expect(entry!.kind).toBe(c.kind)
        expect(entry!.phase).toBe('test')
        if (c.site !== null) expect(entry!.site).toMatch(new RegExp(`^${c.file.replace('.', '\\.')}:\\d+:\\d+$`))
      }
      const fileLeaks = run.report.leaks.filter((l) => l.test === null)
      expect(fileLeaks.map((l) => [l.file, l.kind, l.phase]).sort()).toEqual([
        ['file-level.test.ts', 'server', 'file'],
        ['file-level.test.ts', 'timer', 'file'],
      ])
    })
  })

  describe('processes', () => {
    test('leaked processes were terminated: none is alive after the run', () => {
      const pids = run.report.leaks.filter((l) => l.kind === 'child-process').map((l) => Number(l.details.pid))
      expect(pids).toHaveLength(LEAKS.filter((c) => c.kind === 'child-process').length)
      for (const pid of pids) expect(processState(pid), `process ${pid}`).toBe('gone')
    })
  })
})
