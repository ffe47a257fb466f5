// Runs `node --test --import leakguard/node-test` as a child process and returns what a test
// asserts on: each test's outcome (through a reporter of ours), the stderr, and the report.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Report } from 'leakguard'
import { ROOT } from './run-vitest.js'

const REPORTER = join(ROOT, 'test', 'fixtures', 'shims', 'node-test-reporter.mjs')

export interface NodeTestOutcome {
  readonly file: string
  readonly name: string
  readonly state: 'passed' | 'failed'
  readonly error: string | null
}

export interface NodeTestRun {
  readonly code: number | null
  /** node --test's own stderr, then what the test files' processes wrote to theirs. */
  readonly stderr: string
  readonly outcomes: NodeTestOutcome[]
  readonly report: Report | null
}

/** Runs `node --test` with leakguard in `cwd` on the given files. */
export function runNodeTest(cwd: string, files: string[], extra: { args?: string[]; env?: Record<string, string> } = {}): Promise<NodeTestRun> {
  const out = join(cwd, `outcomes-${Date.now()}.jsonl`)
  const args = ['--import', 'leakguard/node-test', '--test', `--test-reporter=${REPORTER}`, `--test-reporter-destination=${out}`, ...(extra.args ?? []), ...files]
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, ...extra.env }, timeout: 120_000 }, (error, _stdout, ownStderr) => {
      /** The runner's own, then what the test files' processes wrote (the reporter relays it). */
      let stderr = ownStderr
      let outcomes: NodeTestOutcome[] = []
      let report: Report | null = null
      try {
        const lines = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as NodeTestOutcome & { stderr?: string })
        outcomes = lines.filter((l) => l.stderr === undefined)
        stderr += lines.map((l) => l.stderr ?? '').join('')
      } catch {}
      try {
        report = JSON.parse(readFileSync(join(cwd, '.leakguard', 'report.json'), 'utf8')) as Report
      } catch {}
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr, outcomes, report })
    })
  })
}
