// One scratch project, a leaking and a clean test file, on whatever Vitest runs this suite: through
// the plugin (leakguard's runner) and wired by hand (the setup file's hooks), then `leakguard gate`.
// The verdicts, the report and the gate's exit code must be the same for both harnesses here, and
// the same on every supported Vitest: .ci/run runs this file on each of them with
// LEAKGUARD_COMPAT_OUT set, and compares the summaries it writes there.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, runFixtures, siteOf, type FixtureRun } from './helpers/run-vitest.js'
import { VITEST_VERSION } from './helpers/vitest-version.js'

const DIR = join(import.meta.dirname, 'fixtures', 'compat')
const BIN = join(ROOT, 'bin', 'leakguard.mjs')

interface Summary {
  readonly verdicts: Record<string, { state: string; leaks: string[] }>
  readonly fileLeaks: Record<string, string[]>
  readonly report: { totals: unknown; leaks: unknown[] }
  readonly gate: { withoutBaseline: number | null; withBaseline: number | null }
}

/** What must not differ between Vitest versions: no ports, pids, times or versions. */
function summarize(run: FixtureRun, gate: Summary['gate']): Summary {
  const kinds = (leaks: readonly { kind: string; site: string | null }[]) =>
    leaks.map((l) => `${l.kind} ${l.site?.replace(`${DIR}/`, '') ?? ''}`).sort()
  return {
    verdicts: Object.fromEntries([...run.tests].sort().map(([name, o]) => [name, { state: o.state, leaks: kinds(o.leaks) }])),
    fileLeaks: Object.fromEntries([...run.files].sort().map(([file, f]) => [file, kinds(f.leaks)])),
    report: {
      totals: run.report.totals,
      leaks: run.report.leaks.map((l) => ({
        file: l.file,
        test: l.test,
        phase: l.phase,
        kind: l.kind,
        site: l.site,
        description: l.description.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT'),
        hint: l.hint,
      })),
    },
    gate,
  }
}

async function gateExit(cwd: string, ...args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, 'gate', ...args], { cwd, stdio: 'ignore' })
  const [code] = (await once(child, 'close')) as [number | null]
  return code
}

/** `leakguard gate` on the run's report: without a baseline, then after `--update-baseline`. */
async function gate(run: FixtureRun): Promise<Summary['gate']> {
  const cwd = mkdtempSync(join(tmpdir(), 'leakguard-compat-'))
  try {
    mkdirSync(join(cwd, '.leakguard'))
    writeFileSync(join(cwd, '.leakguard', 'report.json'), JSON.stringify(run.report))
    const withoutBaseline = await gateExit(cwd)
    await gateExit(cwd, '--update-baseline')
    return { withoutBaseline, withBaseline: await gateExit(cwd) }
  } finally {
    rmSync(cwd, { recursive: true, force: true })
  }
}

let plugin: Summary
let manual: Summary
beforeAll(async () => {
  const byPlugin = await runFixtures(DIR, ['*.test.ts'])
  plugin = summarize(byPlugin, await gate(byPlugin))
  const byHand = await runFixtures(DIR, ['*.test.ts'], { manual: {} })
  manual = summarize(byHand, await gate(byHand))
})

afterAll(() => {
  const out = process.env.LEAKGUARD_COMPAT_OUT
  if (!out) return
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, `vitest-${VITEST_VERSION}.json`), `${JSON.stringify({ plugin, manual }, null, 2)}\n`)
})

const site = (name: string) => siteOf(join(DIR, 'leaky.test.ts'), name).replace(`${DIR}/`, '').replace(/:$/, '')

test('the leaking tests fail, each with its own leak; the clean ones pass', () => {
  const leak = (kind: string, name: string) => [expect.stringMatching(new RegExp(`^${kind} ${site(name)}:\\d+$`))]
  expect(plugin.verdicts).toEqual({
    'clean.test.ts > adds': { state: 'passed', leaks: [] },
    'leaky.test.ts > leaks an interval': { state: 'failed', leaks: leak('timer', 'interval') },
    'leaky.test.ts > leaks a server': { state: 'failed', leaks: leak('server', 'server') },
    'leaky.test.ts > clean': { state: 'passed', leaks: [] },
    'leaky.test.ts > released late > in afterEach': { state: 'passed', leaks: [] },
    'leaky.test.ts > released late > in onTestFinished': { state: 'passed', leaks: [] },
    'leaky.test.ts > released late > in fixture teardown': { state: 'passed', leaks: [] },
    // Fails on its assertion, and leaks nothing.
    'leaky.test.ts > released late > in onTestFailed': { state: 'failed', leaks: [] },
    // The first try's leak failed that try; the retry passed. The leak stays on record.
    'leaky.test.ts > leaks on its first try only': { state: 'passed', leaks: leak('timer', 'first-try') },
    'leaky.test.ts > concurrent > the leaky one': { state: 'failed', leaks: leak('timer', 'concurrent-interval') },
    'leaky.test.ts > concurrent > a clean neighbour': { state: 'passed', leaks: [] },
  })
  expect(plugin.fileLeaks['clean.test.ts']).toEqual([])
  expect(plugin.fileLeaks['leaky.test.ts']).toEqual(leak('timer', 'module-interval'))
})

test('the report lists the same leaks, and the gate fails on them until they are in the baseline', () => {
  expect(plugin.report.leaks.map((l) => [(l as { test: string | null }).test, (l as { kind: string }).kind])).toEqual([
    [null, 'timer'],
    ['leaks an interval', 'timer'],
    ['leaks a server', 'server'],
    ['leaks on its first try only', 'timer'],
    ['concurrent > the leaky one', 'timer'],
  ])
  expect(plugin.gate).toEqual({ withoutBaseline: 1, withBaseline: 0 })
})

test('wired by hand (the setup file) gives what the plugin (the runner) gives', () => {
  expect(manual).toEqual(plugin)
})
