// Runs Jest as a child process on a folder of test files, wired to leakguard the way the README
// says (setupFilesAfterEnv and reporters, through the package's exports), and returns what a test
// needs to assert on: each test's state and failure text, each file's own failure, the report.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { Report } from 'leakguard'
import { ROOT } from './run-vitest.js'

export interface JestTest {
  readonly state: string
  /** Jest's failure messages, each with its stack. */
  readonly errors: readonly string[]
}

export interface JestRun {
  /** Keyed by `file > full test name` (describe blocks joined with ` > `). */
  readonly tests: Map<string, JestTest>
  /** A file's failure message (its tests' failures, and its own: an afterAll's), keyed by file name. */
  readonly files: Map<string, string>
  readonly report: Report | null
  readonly output: string
  readonly code: number | null
}

const JEST_BIN = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js')

/** Makes `leakguard` resolve in `dir` as in a project that installed it: node_modules/leakguard → this package. */
export function linkLeakguard(dir: string): void {
  const modules = join(dir, 'node_modules')
  mkdirSync(modules, { recursive: true })
  if (!existsSync(join(modules, 'leakguard'))) symlinkSync(ROOT, join(modules, 'leakguard'), 'dir')
}

/** Stops what is left of a process group and waits until it is gone. */
async function endGroup(pgid: number): Promise<void> {
  const alive = (signal: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pgid, signal)
      return true
    } catch {
      return false
    }
  }
  if (!alive('SIGKILL')) return
  for (let i = 0; i < 200 && alive(0); i++) await new Promise((resolve) => setTimeout(resolve, 25))
}

export async function runJest(
  dir: string,
  options: {
    /** Jest's options, as in a config file. */
    config?: Record<string, unknown>
    args?: string[]
    env?: Record<string, string>
    /** The node binary (Node 24 in CI's stage 2 is on PATH as `node`). */
    node?: string
  } = {},
): Promise<JestRun> {
  linkLeakguard(dir)
  const config = {
    rootDir: dir,
    testMatch: ['**/*.test.cjs', '**/*.test.js'],
    testPathIgnorePatterns: ['/node_modules/'],
    transform: {},
    setupFilesAfterEnv: ['leakguard/jest'],
    reporters: ['default', 'leakguard/jest-reporter'],
    testTimeout: 20_000,
    ...options.config,
  }
  const jsonFile = join(dir, '.jest-results.json')
  const child = spawn(
    options.node ?? process.execPath,
    [JEST_BIN, '--config', JSON.stringify(config), '--json', `--outputFile=${jsonFile}`, '--ci', ...(options.args ?? [])],
    // Its own process group: with --forceExit, Jest's workers may outlive it for a moment.
    { cwd: dir, env: { ...process.env, FORCE_COLOR: '0', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  )
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const [code] = (await once(child, 'close')) as [number | null]
  await endGroup(child.pid!)

  const tests = new Map<string, JestTest>()
  const files = new Map<string, string>()
  if (existsSync(jsonFile)) {
    const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as {
      testResults: {
        name: string
        message: string
        assertionResults: { ancestorTitles: string[]; title: string; status: string; failureMessages: string[] }[]
      }[]
    }
    for (const file of json.testResults) {
      const name = file.name.slice(dir.length + 1)
      files.set(name, file.message)
      for (const a of file.assertionResults) {
        tests.set(`${name} > ${[...a.ancestorTitles, a.title].join(' > ')}`, { state: a.status, errors: a.failureMessages })
      }
    }
  }
  const reportPath = join(dir, '.leakguard', 'report.json')
  const report = existsSync(reportPath) ? (JSON.parse(readFileSync(reportPath, 'utf8')) as Report) : null
  return { tests, files, report, output, code }
}
