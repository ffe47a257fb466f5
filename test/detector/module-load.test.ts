// What leakguard costs a node:test file's process, which runs one test file and has loaded little: each builtin
// module costs there, and each hook that runs for every test (a hook run is nearly a test run of node:test's own).
// What arming loads: Not the ES-module face of node:fs (it reads every export, and the lazy ones load the
// file streams, fs.promises, Dir and the watchers), not perf_hooks, and on Node 24 not http until something uses it.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURE = join(ROOT, 'test', 'fixtures', 'node-test-load', 'load.test.mjs')
const cwd = mkdtempSync(join(tmpdir(), 'leakguard-load-'))
afterAll(() => rmSync(cwd, { recursive: true, force: true }))

function loadedBy(args: string[]): Set<string> {
  const list = join(cwd, `list-${args.length}.txt`)
  execFileSync(process.execPath, [...args, '--test', '--test-reporter=dot', FIXTURE], { cwd, env: { ...process.env, LOAD_LIST: list }, stdio: 'ignore' })
  return new Set(readFileSync(list, 'utf8').split('\n'))
}

test('arming under node:test loads no fs streams, no perf_hooks, and (Node 24) no http', () => {
  const off = loadedBy([])
  rmSync(join(cwd, '.leakguard'), { recursive: true, force: true })
  const on = loadedBy(['--import', join(ROOT, 'dist', 'node-test.js')])
  const added = [...on].filter((m) => !off.has(m))
  // leakguard did arm: it wrote its report.
  expect(JSON.parse(readFileSync(join(cwd, '.leakguard', 'report.json'), 'utf8')).totals.testsChecked).toBe(1)
  expect(added).not.toContain('NativeModule internal/fs/streams')
  expect(added).not.toContain('NativeModule internal/fs/dir')
  expect(added).not.toContain('NativeModule perf_hooks')
  if (Number(process.versions.node.split('.')[0]) >= 24) expect(added).not.toContain('NativeModule _http_agent')
})

test('under node:test, leakguard adds one hook for each test (its afterEach), and node:test calls it directly', () => {
  const out = join(cwd, 'hooks.json')
  const fixture = join(ROOT, 'test', 'fixtures', 'node-test-load', 'hooks.test.mjs')
  const run = (args: string[]) => {
    execFileSync(process.execPath, [...args, '--test', '--test-reporter=dot', fixture], { cwd, env: { ...process.env, HOOKS_OUT: out }, stdio: 'ignore' })
    return JSON.parse(readFileSync(out, 'utf8')) as { beforeEach: number; afterEach: number; firstRanAsHook: boolean }
  }
  // Without leakguard, the file's root-level afterEach is node:test's hook, run as one.
  expect(run([])).toEqual({ beforeEach: 0, afterEach: 1, firstRanAsHook: true })
  // With it, leakguard's hook takes the file's over (and runs it), and node:test calls leakguard's without a hook run.
  expect(run(['--import', join(ROOT, 'dist', 'node-test.js')])).toEqual({ beforeEach: 0, afterEach: 1, firstRanAsHook: false })
  // It still checked the test.
  expect(JSON.parse(readFileSync(join(cwd, '.leakguard', 'report.json'), 'utf8')).totals.testsChecked).toBe(2)
})
