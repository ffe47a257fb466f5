// Manual wiring: setupFiles: ['leakguard/setup'] + reporters: ['leakguard/reporter'], options via provide.
import { beforeAll, expect, test } from 'vitest'
import { join } from 'node:path'
import { runFixtures, type FixtureRun } from './helpers/run-vitest.js'

const DIR = join(import.meta.dirname, 'fixtures', 'manual')
let run: FixtureRun
let reportOnly: FixtureRun
beforeAll(async () => {
  const allow = [{ kind: 'timer', site: 'manual.test.ts:10:' }]
  run = await runFixtures(DIR, ['*.test.ts'], { manual: { provide: { leakguard: { allow, unrefTimers: true } } } })
  reportOnly = await runFixtures(DIR, ['*.test.ts'], { manual: { provide: { leakguard: { allow, failOnLeak: false } } } })
})

test('the setup file catches leaks and reads its options from provide', () => {
  expect(run.tests.get('manual.test.ts > leaks a server')).toMatchObject({ state: 'failed', leaks: [{ kind: 'server' }] })
  expect(run.tests.get('manual.test.ts > keeps a timer the config allows')).toMatchObject({ state: 'passed', leaks: [] })
  expect(run.tests.get("manual.test.ts > leaks an unref'd timer (unrefTimers is on)")).toMatchObject({
    state: 'failed',
    leaks: [{ kind: 'timer', description: "setTimeout of 60000 ms (unref'd)" }],
  })
})

test('the reporter writes the report', () => {
  expect(run.report.leaks.map((l) => [l.file, l.test, l.kind])).toEqual([
    ['manual.test.ts', 'leaks a server', 'server'],
    ['manual.test.ts', "leaks an unref'd timer (unrefTimers is on)", 'timer'],
    ['manual.test.ts', 'leaks a timer from a named function', 'timer'],
  ])
})

test('a leak names the function at its creation site', () => {
  const leak = run.report.leaks.find((l) => l.test === 'leaks a timer from a named function')
  expect(leak).toMatchObject({ siteFunction: 'startPoller', site: expect.stringMatching(/^manual\.test\.ts:\d+:\d+$/) })
})

test('failOnLeak: false reports leaks without failing the tests', () => {
  for (const [name, outcome] of reportOnly.tests) {
    expect({ name, state: outcome.state, errors: outcome.errors }).toEqual({ name, state: 'passed', errors: [] })
  }
  expect(reportOnly.tests.get('manual.test.ts > leaks a server')?.leaks).toMatchObject([{ kind: 'server' }])
  expect(reportOnly.report.leaks.map((l) => l.test)).toEqual(['leaks a server', 'leaks a timer from a named function'])
})
