// Pools and modes: the same few fixture files under each of Vitest's pools, isolate: false,
// sequence.concurrent, projects, a watch-mode rerun and the node, jsdom and happy-dom environments.
import { describe, expect, test } from 'vitest'
import { join } from 'node:path'
import { leakguard, type LeakguardOptions } from 'leakguard/vitest'
import { runFixtures, siteOf, type FixtureRun } from './helpers/run-vitest.js'

const MODES = join(import.meta.dirname, 'fixtures', 'modes')
const OWN_RUNNER = join(import.meta.dirname, 'fixtures', 'zoo', 'own-runner.ts')

/** A test's outcome: its state and its leaks as `kind site-marker`. */
function outcome(run: FixtureRun, key: string): { state: string; leaks: string[] } {
  const o = run.tests.get(key)
  if (!o) throw new Error(`no test "${key}"; have: ${[...run.tests.keys()].join(', ')}`)
  return { state: o.state, leaks: o.leaks.map((l) => `${l.kind} ${l.site}`) }
}

function leakAt(kind: string, file: string, marker: string): string {
  return expect.stringContaining(`${kind} ${siteOf(join(MODES, file), marker)}`) as unknown as string
}

/** alpha.test.ts and beta.test.ts: four test leaks, one file leak (alpha's), the rest clean. */
function expectBasic(run: FixtureRun, project = ''): void {
  const p = project ? `[${project}] ` : ''
  expect(outcome(run, `${p}alpha.test.ts > alpha leaks an interval`)).toEqual({ state: 'failed', leaks: [leakAt('timer', 'alpha.test.ts', 'alpha-interval')] })
  expect(outcome(run, `${p}alpha.test.ts > alpha leaks a server`)).toEqual({ state: 'failed', leaks: [leakAt('server', 'alpha.test.ts', 'alpha-server')] })
  expect(outcome(run, `${p}beta.test.ts > beta leaks a timeout`)).toEqual({ state: 'failed', leaks: [leakAt('timer', 'beta.test.ts', 'beta-timeout')] })
  expect(outcome(run, `${p}beta.test.ts > beta leaks a net server`)).toEqual({ state: 'failed', leaks: [leakAt('server', 'beta.test.ts', 'beta-server')] })
  const CLEAN = [
    'alpha.test.ts > alpha is clean',
    'alpha.test.ts > alpha may keep a timer',
    'alpha.test.ts > alpha requests the fixture server',
    'alpha.test.ts > alpha loads leakguard natively, not through Vite',
    'beta.test.ts > beta is clean',
  ]
  for (const clean of CLEAN) {
    expect({ clean, ...outcome(run, `${p}${clean}`) }).toEqual({ clean, state: 'passed', leaks: [] })
  }
  // File brackets do not bleed: alpha's beforeAll server is alpha's alone.
  expect(run.files.get(`${p}alpha.test.ts`)!.leaks.map((l) => `${l.kind} ${l.site}`)).toEqual([leakAt('server', 'alpha.test.ts', 'alpha-file-server')])
  expect(run.files.get(`${p}beta.test.ts`)!.leaks).toEqual([])
}

function reportOf(run: FixtureRun, project?: string): string[] {
  return run.report.leaks
    .filter((l) => project === undefined || l.project === project)
    .map((l) => `${l.file} ${l.test ?? '(file)'} ${l.kind}`)
    .sort()
}

const BASIC_REPORT = [
  'alpha.test.ts (file) server',
  'alpha.test.ts alpha leaks a server server',
  'alpha.test.ts alpha leaks an interval timer',
  'beta.test.ts beta leaks a net server server',
  'beta.test.ts beta leaks a timeout timer',
]

describe('pools', () => {
  test.each(['threads', 'vmThreads', 'vmForks'] as const)('%s: leaks caught, clean tests clean, useServer works', async (pool) => {
    const run = await runFixtures(MODES, ['alpha.test.ts', 'beta.test.ts'], { pool })
    expectBasic(run)
    expect(reportOf(run)).toEqual(BASIC_REPORT)
  })
})

describe('isolate: false', () => {
  test.each(['threads', 'forks', 'vmThreads'] as const)('%s, one worker for both files: file brackets do not bleed', async (pool) => {
    const run = await runFixtures(MODES, ['alpha.test.ts', 'beta.test.ts'], { pool, config: { isolate: false, maxWorkers: 1 } })
    expectBasic(run)
    expect(reportOf(run)).toEqual(BASIC_REPORT)
  })
})

test('sequence.concurrent: each leak answers to its own test, the clean neighbour passes', async () => {
  const run = await runFixtures(MODES, ['concurrent.test.ts'], { config: { sequence: { concurrent: true } } })
  expect(outcome(run, 'concurrent.test.ts > concurrent leaks a server')).toEqual({ state: 'failed', leaks: [leakAt('server', 'concurrent.test.ts', 'concurrent-server')] })
  expect(outcome(run, 'concurrent.test.ts > concurrent leaks an interval')).toEqual({ state: 'failed', leaks: [leakAt('timer', 'concurrent.test.ts', 'concurrent-interval')] })
  expect(outcome(run, 'concurrent.test.ts > concurrent is clean while its neighbour leaks')).toEqual({ state: 'passed', leaks: [] })
  expect(run.files.get('concurrent.test.ts')!.leaks).toEqual([])
})

describe('environments', () => {
  const CASES = (['node', 'jsdom', 'happy-dom'] as const).flatMap((environment) => (['forks', 'vmThreads'] as const).map((pool) => ({ environment, pool })))
  test.each(CASES)('$environment in $pool: window timers left running are leaks, cleared ones are not', async ({ environment, pool }) => {
    const run = await runFixtures(MODES, ['dom.test.ts'], { pool, config: { environment } })
    const o = (name: string) => outcome(run, `dom.test.ts > ${name}`)
    expect(o('dom leaks a window timeout')).toEqual({ state: 'failed', leaks: [leakAt('timer', 'dom.test.ts', 'dom-timeout')] })
    expect(o('dom leaks a window interval')).toEqual({ state: 'failed', leaks: [leakAt('timer', 'dom.test.ts', 'dom-interval')] })
    // jsdom makes a window's interval of Node timeouts: still reported as the interval it is.
    expect(run.tests.get('dom.test.ts > dom leaks a window interval')!.leaks[0]!.description).toBe('setInterval every 1000 ms')
    expect(o('dom leaks a plain timeout')).toEqual({ state: 'failed', leaks: [leakAt('timer', 'dom.test.ts', 'dom-plain')] })
    for (const clean of ['reports the environment', 'dom clears a window timeout and an interval', 'dom waits for a window timeout']) {
      expect({ clean, ...o(clean) }).toEqual({ clean, state: 'passed', leaks: [] })
    }
    expect(run.files.get('dom.test.ts')!.leaks).toEqual([])
  })
})

test('projects: two projects with different options, harnesses and pools in one run, both in the report', async () => {
  // Each project with a leakguard() of its own (an inline project does not inherit the plugin of
  // a run without a config file); the run's plugin adds the reporter.
  const project = (name: string, options: LeakguardOptions, extra: Record<string, unknown>) => ({
    extends: true,
    plugins: [leakguard(options)],
    test: { name, include: ['alpha.test.ts', 'beta.test.ts'], ...extra },
  })
  const run = await runFixtures(MODES, [], {
    config: {
      projects: [
        project('strict', {}, { pool: 'forks' }),
        project('lenient', { allow: ['timer'] }, { pool: 'vmThreads', runner: OWN_RUNNER }),
      ],
    },
  })
  expectBasic(run, 'strict')
  expect(reportOf(run, 'strict')).toEqual(BASIC_REPORT)
  // Timers allowed there: only the servers are leaks.
  expect(outcome(run, '[lenient] alpha.test.ts > alpha leaks an interval')).toEqual({ state: 'passed', leaks: [] })
  expect(outcome(run, '[lenient] beta.test.ts > beta leaks a timeout')).toEqual({ state: 'passed', leaks: [] })
  expect(outcome(run, '[lenient] beta.test.ts > beta leaks a net server')).toEqual({ state: 'failed', leaks: [leakAt('server', 'beta.test.ts', 'beta-server')] })
  expect(reportOf(run, 'lenient')).toEqual(BASIC_REPORT.filter((l) => l.endsWith(' server')))
  expect(run.report.leaks).toHaveLength(reportOf(run, 'strict').length + reportOf(run, 'lenient').length)
})

test("watch mode: a rerun reports its own leaks, not the previous run's", async () => {
  const run = await runFixtures(MODES, ['alpha.test.ts', 'beta.test.ts'], { rerun: true, pool: 'threads', config: { isolate: false, maxWorkers: 1 } })
  expectBasic(run)
  expect(reportOf(run)).toEqual(BASIC_REPORT)
  expect(run.report.totals.testsChecked).toBe(9)
})
