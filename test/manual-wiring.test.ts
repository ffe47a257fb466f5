// Manual wiring: setupFiles: ['leakguard/setup'] + reporters: ['leakguard/reporter'], options via provide.
import { beforeAll, expect, test } from 'vitest'
import { join } from 'node:path'
import { runFixtures, type FixtureRun } from './helpers/run-vitest.js'

let run: FixtureRun
beforeAll(async () => {
  run = await runFixtures(join(import.meta.dirname, 'fixtures', 'manual'), ['*.test.ts'], {
    manual: { provide: { leakguard: { allow: [{ kind: 'timer', site: 'manual.test.ts:10:' }], unrefTimers: true } } },
  })
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
  ])
})
