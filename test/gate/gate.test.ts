// `leakguard gate`, run as the real CLI (node bin/leakguard.mjs) on fixture reports and baselines.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'leakguard.mjs')
const REPORTS = join(ROOT, 'test', 'fixtures', 'reporter', 'reports')

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

let cwd: string
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'leakguard-gate-'))
  cpSync(REPORTS, cwd, { recursive: true })
})
afterEach(() => rmSync(cwd, { recursive: true, force: true }))

async function gate(...args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [BIN, 'gate', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout, stderr }
}

interface Case {
  readonly name: string
  readonly args: readonly string[]
  readonly code: 0 | 1
  readonly stdout: readonly (string | RegExp)[]
  readonly not?: readonly string[]
}

const CASES: readonly Case[] = [
  {
    name: 'a clean report passes',
    args: ['clean.json'],
    code: 0,
    stdout: ['leakguard gate: no leaks (6 tests checked).\n'],
  },
  {
    name: 'a leak with no baseline fails, listed with its fix hint',
    args: ['leaky.json'],
    code: 1,
    stdout: [
      'leakguard gate: 2 new leaks (not in .leakguard/baseline.json):',
      '  test/api.test.ts > api > creates a user\n    server: HTTP server listening on 127.0.0.1:40123\n    created at test/api.test.ts:7:49\n    Close the server with `server.close()`',
      '  test/hooks.test.ts (file level)\n    timer: setInterval every 5000 ms',
      'Fix them, or accept them with `leakguard gate --update-baseline`.',
    ],
  },
  {
    name: 'leaks that the baseline accepts pass',
    args: ['leaky.json', '--baseline', 'baseline.json'],
    code: 0,
    stdout: ['leakguard gate: no new leaks; 2 known leaks accepted by baseline.json.\n'],
  },
  {
    name: 'the same leaks after a line shift (other lines, other port) still match',
    args: ['shifted.json', '--baseline', 'baseline.json'],
    code: 0,
    stdout: ['no new leaks; 2 known leaks'],
  },
  {
    name: 'a new leak beside baselined ones fails, and only it is listed',
    args: ['new.json', '--baseline', 'baseline.json'],
    code: 1,
    stdout: [
      'leakguard gate: 1 new leak (not in baseline.json):',
      '  test/jobs.test.ts > jobs > runs the worker script\n    child-process: child process 4242 (node worker.js)\n    created at test/helpers/spawn.ts:12:10 (startWorker)\n    Stop it with `child.kill()`',
    ],
    not: ['creates a user'],
  },
  {
    name: 'a shard\'s own report passes, with a note to gate the merged one',
    args: ['shard-1.json'],
    code: 0,
    stdout: ['Note: this report covers shard 1/2 only; gate the report of `vitest --merge-reports` to check every shard.'],
  },
  {
    name: 'an interrupted run\'s report passes, with a note',
    args: ['interrupted.json'],
    code: 0,
    stdout: ['Note: the test run was interrupted; tests that did not run were not checked for leaks.'],
  },
  {
    name: 'a fixed leak is reported as fixed, and the gate passes',
    args: ['fixed.json', '--baseline', 'baseline.json'],
    code: 0,
    stdout: [
      'leakguard gate: no new leaks; 1 known leak accepted by baseline.json.',
      '1 leak in the baseline is fixed; drop it with `leakguard gate --update-baseline`:\n  - test/hooks.test.ts (file level): timer created in test/hooks.test.ts\n',
    ],
  },
]

describe.each(CASES)('$name', (c) => {
  test(`exit ${c.code}`, async () => {
    const r = await gate(...c.args)
    expect(r.stderr).toBe('')
    expect(r.code, r.stdout).toBe(c.code)
    for (const s of c.stdout) {
      if (typeof s === 'string') expect(r.stdout).toContain(s)
      else expect(r.stdout).toMatch(s)
    }
    for (const s of c.not ?? []) expect(r.stdout).not.toContain(s)
  })
})

test('with no arguments it reads .leakguard/report.json and .leakguard/baseline.json', async () => {
  mkdirSync(join(cwd, '.leakguard'))
  cpSync(join(cwd, 'shifted.json'), join(cwd, '.leakguard', 'report.json'))
  expect((await gate()).code).toBe(1)
  cpSync(join(cwd, 'baseline.json'), join(cwd, '.leakguard', 'baseline.json'))
  const r = await gate()
  expect(r.code).toBe(0)
  expect(r.stdout).toContain('accepted by .leakguard/baseline.json')
})

describe('--update-baseline', () => {
  test('writes the current leaks, sorted and stable, without line numbers', async () => {
    const first = await gate('new.json', '--baseline', 'out/baseline.json', '--update-baseline')
    expect(first.code).toBe(0)
    expect(first.stdout).toBe('leakguard gate: wrote out/baseline.json with 3 leaks (3 new, 0 already known).\n')
    const written = readFileSync(join(cwd, 'out', 'baseline.json'), 'utf8')
    expect(JSON.parse(written)).toEqual({
      schemaVersion: 1,
      leaks: [
        { file: 'test/api.test.ts', test: 'api > creates a user', kind: 'server', siteFile: 'test/api.test.ts', siteFunction: null },
        { file: 'test/hooks.test.ts', test: null, kind: 'timer', siteFile: 'test/hooks.test.ts', siteFunction: null },
        { file: 'test/jobs.test.ts', test: 'jobs > runs the worker script', kind: 'child-process', siteFile: 'test/helpers/spawn.ts', siteFunction: 'startWorker' },
      ],
    })
    // The same leaks in another order, on other lines: the same bytes.
    const shuffled = JSON.parse(readFileSync(join(cwd, 'new.json'), 'utf8'))
    shuffled.leaks.reverse()
    shuffled.leaks[0].site = 'test/helpers/spawn.ts:99:1'
    writeFileSync(join(cwd, 'shuffled.json'), JSON.stringify(shuffled))
    expect((await gate('shuffled.json', '--baseline', 'out/baseline.json', '--update-baseline')).code).toBe(0)
    expect(readFileSync(join(cwd, 'out', 'baseline.json'), 'utf8')).toBe(written)
    // Written through a temporary file and a rename.
    expect(readdirSync(join(cwd, 'out'))).toEqual(['baseline.json'])
    // And the gate passes on that report now.
    expect((await gate('new.json', '--baseline', 'out/baseline.json')).code).toBe(0)
  })

  test('drops fixed leaks and says so', async () => {
    const r = await gate('fixed.json', '--baseline', 'baseline.json', '--update-baseline')
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      'leakguard gate: wrote baseline.json with 1 leak (0 new, 1 already known).\n' +
        '1 leak fixed since, dropped from the baseline:\n' +
        '  - test/hooks.test.ts (file level): timer created in test/hooks.test.ts\n',
    )
    expect(JSON.parse(readFileSync(join(cwd, 'baseline.json'), 'utf8')).leaks).toHaveLength(1)
  })
})

interface BadCase {
  readonly name: string
  readonly args: readonly string[]
  readonly message: RegExp
  readonly setup?: (dir: string) => void
}

const BAD: readonly BadCase[] = [
  { name: 'a missing report', args: ['nope.json'], message: /nope\.json does not exist; run the tests with the leakguard plugin first, or pass the report's path\.$/ },
  { name: 'a report that is not JSON', args: ['not-json.json'], message: /not-json\.json is not JSON; pass the report written by the leakguard reporter/ },
  { name: 'a report of another schema version', args: ['v2.json'], message: /v2\.json has schemaVersion 2, this leakguard reads version 1; use the leakguard version that wrote it, or re-run the tests\.$/ },
  { name: 'a JSON file that is no report', args: ['package.json'], message: /package\.json has no `schemaVersion`/, setup: (d) => writeFileSync(join(d, 'package.json'), '{"name":"x"}') },
  { name: 'an unknown flag', args: ['leaky.json', '--basline', 'b.json'], message: /^leakguard gate: unknown option `--basline`; run `leakguard gate --help` for the options\.$/ },
  { name: '--baseline without a path', args: ['leaky.json', '--baseline'], message: /^leakguard gate: `--baseline` needs a path, e\.g\. `--baseline \.leakguard\/baseline\.json`\.$/ },
  { name: 'two report paths', args: ['leaky.json', 'clean.json'], message: /^leakguard gate: expected one report file, got 2 \(leaky\.json, clean\.json\); pass a single path\.$/ },
  { name: 'a missing baseline given with --baseline', args: ['leaky.json', '--baseline', 'nope.json'], message: /baseline \S*nope\.json does not exist; create it with `leakguard gate --update-baseline`, or leave out `--baseline`\.$/ },
  { name: 'a baseline that is not JSON', args: ['leaky.json', '--baseline', 'not-json.json'], message: /baseline \S*not-json\.json is not JSON; write it again with `leakguard gate --update-baseline`\.$/ },
  { name: 'a report given as a baseline', args: ['leaky.json', '--baseline', 'v2.json'], message: /baseline \S*v2\.json has schemaVersion 2/ },
]

describe.each(BAD)('bad input: $name', (c) => {
  test('exit 2, one line on stderr naming the fix, no stack trace', async () => {
    c.setup?.(cwd)
    const r = await gate(...c.args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.endsWith('\n')).toBe(true)
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^leakguard gate: /)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr.trimEnd()).toMatch(c.message)
  })
})

test('`leakguard gate --help` shows the usage and exit codes', async () => {
  const r = await gate('--help')
  expect(r.code).toBe(0)
  expect(r.stdout).toContain('Usage: leakguard gate [report.json] [--baseline <path>] [--update-baseline]')
  expect(r.stdout).toContain('Exit codes: 0 no new leaks, 1 new leaks, 2 bad input.')
})
