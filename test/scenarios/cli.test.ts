// `leakguard scenarios`: bad input is one line on stderr and exit 2 (no stack), --json is the report as data, the
// table has one row per scenario, and the exit code says whether anything failed.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { beforeAll, expect, test } from 'vitest'
import { scenariosCommand } from '../../dist/cli/scenarios.js'
import { scenarios } from '../../dist/scenarios/index.js'
import { assertBuildIsFresh, FIXTURE_SERVER, ROOT } from './helpers.js'

beforeAll(assertBuildIsFresh)

async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await scenariosCommand(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: ROOT, env: process.env })
  return { code, stdout, stderr }
}

async function bin(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/leakguard.mjs', 'scenarios', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t))
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t))
  const [code] = await once(child, 'close')
  return { code, stdout, stderr }
}

const USAGE: readonly [string[], RegExp][] = [
  [['--nope'], /^leakguard scenarios: unknown flag `--nope`; the flags are --server, --health, --slow-path, --only, --json \(see --help\)\.\n$/],
  [['--server'], /^leakguard scenarios: `--server` needs a value, e.g\. --server "node dist\/server\.js" \(see --help\)\.\n$/],
  [['node', 'server.js'], /^leakguard scenarios: unexpected argument `node`; quote the whole command/],
  [['--health', '/healthz'], /^leakguard scenarios: `--health` and `--slow-path` describe a `--server`; the bundled reference server needs neither\.\n$/],
  [['--server', 'node s.js', '--health', 'healthz'], /^leakguard scenarios: `--health` must be a path starting with "\/"/],
  [['--server', 'node s.js', '--slow-path', '/slow'], /^leakguard scenarios: `--slow-path` must be a path with a \{ms\} placeholder/],
  [['--only', 'nope'], /^leakguard scenarios: unknown scenario `nope`; the scenarios are: ready, /],
  [['--server', 'node s.js | tee log'], /^leakguard scenarios: `--server` is run without a shell, so `\|` cannot be used in it/],
  [['--server', '"node s.js'], /^leakguard scenarios: `--server` has an unclosed " quote/],
]

test.each(USAGE)('%j: one line on stderr, exit 2, nothing run', async (argv, message) => {
  const { code, stdout, stderr } = await inProcess(argv)
  expect(code).toBe(2)
  expect(stdout).toBe('')
  expect(stderr).toMatch(message)
  expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(stderr).not.toMatch(/\bat .*:\d+:\d+/)
})

test('--help lists every scenario and marks those that run against any server', async () => {
  const { code, stdout } = await inProcess(['--help'])
  expect(code).toBe(0)
  for (const s of scenarios) expect(stdout).toContain(`${s.needsSlowPath ? '+' : s.anyServer ? '*' : ' '} ${s.name}`)
  expect(scenarios.filter((s) => s.needsSlowPath).map((s) => s.name)).toEqual(['sigterm-in-flight', 'sigterm-twice'])
})

test('--json prints the report as data; exit 0 when nothing failed', async () => {
  const { code, stdout, stderr } = await bin(['--json', '--only', 'sigterm-idle,invalid-config'])
  expect(stderr).toBe('')
  expect(code).toBe(0)
  const report = JSON.parse(stdout)
  expect(Object.keys(report)).toEqual(['target', 'ok', 'passed', 'failed', 'skipped', 'durationMs', 'longest', 'ratio', 'results'])
  expect(report).toMatchObject({ ok: true, passed: 2, failed: 0, skipped: 0, longest: { name: expect.any(String), durationMs: expect.any(Number) } })
  expect(report.results).toEqual([
    { name: 'sigterm-idle', verdict: 'pass', durationMs: expect.any(Number), detail: expect.stringMatching(/^exit 0 in \d+ ms$/) },
    { name: 'invalid-config', verdict: 'pass', durationMs: expect.any(Number), detail: expect.stringMatching(/^exit 71 in .*PORT must be an integer/) },
  ])
})

test('the table: a title, one row per scenario (name, verdict, time, detail), totals; exit 1 when one failed', async () => {
  const { code, stdout } = await bin(['--server', `BROKEN=exit-code node ${FIXTURE_SERVER}`, '--only', 'sigterm-idle', '--only', 'sse-drain'])
  expect(code).toBe(1)
  const lines = stdout.split('\n')
  expect(lines[0]).toBe(`leakguard scenarios: BROKEN=exit-code node ${FIXTURE_SERVER}, 1 scenario in parallel`)
  expect(lines[2]).toMatch(/^scenario\s+verdict\s+time\s+detail$/)
  expect(lines[3]).toMatch(/^sigterm-idle\s+FAIL\s+\d+ ms\s+exited with code 3 after SIGTERM, expected exit code 0$/)
  expect(lines[4]).toMatch(/^sse-drain\s+skip\s+-\s+needs an event stream endpoint, which only the reference server has$/)
  expect(lines).toContain('scenarios: 0 passed, 1 failed, 1 skipped')
  expect(stdout).toMatch(/\nwall time \d+ ms; longest scenario sigterm-idle \d+ ms \(wall\/longest \d\.\d\d\); scenario times add up to \d+ ms\n$/)
})
