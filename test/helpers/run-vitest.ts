// Runs Vitest from code on fixture test files and returns what a test needs to assert on.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { Writable } from 'node:stream'
import { join, relative } from 'node:path'
import { tmpdir } from 'node:os'
import { startVitest } from 'vitest/node'
import { leakguard, type LeakguardOptions } from 'leakguard/vitest'
import type { Leak } from 'leakguard'
import type { Report } from 'leakguard'

export const ROOT = join(import.meta.dirname, '..', '..')

export interface TestOutcome {
  readonly state: string
  readonly leaks: readonly Leak[]
  readonly errors: readonly string[]
}

export interface FixtureRun {
  /** Keyed by `file > full test name`, file relative to the fixture root (`[project] file` in named projects). */
  readonly tests: Map<string, TestOutcome>
  /** File-level leaks, keyed by file. */
  readonly files: Map<string, { leaks: readonly Leak[]; errors: readonly string[] }>
  readonly report: Report
  readonly output: string
}

// Vitest 4 declares TaskMeta in @vitest/runner, which `declare module 'vitest'` does not reach.
function leaksOf(meta: object): Leak[] {
  return ((meta as { leaks?: Leak[] }).leaks ?? []) as Leak[]
}

/** Collects what Vitest prints. */
export class Sink extends Writable {
  text = ''
  // Vitest pipes each forked worker's stdout into its output stream, and pipe() ends the
  // destination when the worker exits; process.stdout ignores that, and so must a capture.
  override end(): this {
    return this
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString()
    cb()
  }
}

export async function runFixtures(
  root: string,
  include: string[],
  options: {
    leakguard?: LeakguardOptions
    pool?: 'forks' | 'threads' | 'vmThreads' | 'vmForks'
    /** More of Vitest's options, as in `test` of a config: `isolate`, `sequence`, `environment`, `projects`… */
    config?: Record<string, unknown>
    /** Watch mode: after the first run, rerun every file once; the results are the rerun's. */
    rerun?: boolean
    env?: Record<string, string>
    /** Working directory while Vitest runs: paths in messages are relative to it. */
    cwd?: string
    /** A test runner of the project's own (Vitest's `runner`): the plugin then brackets with hooks. */
    runner?: string
    /** Wire leakguard by hand (setupFiles, reporters, provide) instead of the plugin. */
    manual?: { provide?: Record<string, unknown> }
  } = {},
): Promise<FixtureRun> {
  const out = mkdtempSync(join(tmpdir(), 'leakguard-run-'))
  const outputFile = join(out, 'report.json')
  const sink = new Sink()
  const exitCode = process.exitCode
  const cwd = process.cwd()
  if (options.cwd) process.chdir(options.cwd)
  const vitest = await startVitest(
    'test',
    [],
    {
      root,
      config: false,
      watch: options.rerun ?? false,
      include,
      pool: options.pool ?? 'forks',
      env: options.env,
      ...options.config,
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.manual
        ? {
            setupFiles: ['leakguard/setup'],
            reporters: ['default', ['leakguard/reporter', { outputFile }]],
            provide: options.manual.provide,
          }
        : {}),
    } as never,
    options.manual ? {} : { plugins: [leakguard({ ...options.leakguard, outputFile }) as never] },
    { stdout: sink, stderr: sink },
  )
  try {
    if (options.rerun) {
      const first = JSON.parse(readFileSync(outputFile, 'utf8')) as Report
      if (first.totals.testsChecked === 0) throw new Error(`the first run checked no tests:\n${sink.text}`)
      rmSync(outputFile)
      // What a watch-mode rerun does (the `r` key, or a changed file): the same files again.
      await vitest.rerunTestSpecifications(await vitest.globTestSpecifications(), true)
    }
    const tests = new Map<string, TestOutcome>()
    const files = new Map<string, { leaks: readonly Leak[]; errors: readonly string[] }>()
    for (const mod of vitest.state.getTestModules()) {
      // Prefixed with the project's name where the run has named projects.
      const file = `${mod.project.name ? `[${mod.project.name}] ` : ''}${relative(root, mod.moduleId)}`
      files.set(file, {
        leaks: leaksOf(mod.meta()),
        errors: mod.errors().map((e) => `${e.name}: ${e.message}`),
      })
      for (const test of mod.children.allTests()) {
        const result = test.result()
        tests.set(`${file} > ${test.fullName}`, {
          state: result.state,
          leaks: leaksOf(test.meta()),
          errors: (result.errors ?? []).map((e) => `${e.name}: ${e.message}`),
        })
      }
    }
    const report = JSON.parse(readFileSync(outputFile, 'utf8')) as Report
    return { tests, files, report, output: sink.text }
  } finally {
    await vitest.close()
    process.chdir(cwd)
    process.exitCode = exitCode
    rmSync(out, { recursive: true, force: true })
  }
}

/** `file:line` of the line carrying `// SITE:<name>` in a fixture file (absolute file path). */
export function siteOf(file: string, name: string): string {
  const lines = readFileSync(file, 'utf8').split('\n')
  const at = lines.findIndex((l) => l.includes(`// SITE:${name}`))
  if (at === -1) throw new Error(`no SITE:${name} marker in ${file}`)
  return `${file}:${at + 1}:`
}

/**
 * Both pools: in `threads`, files run side by side in one process, so process-wide probes
 * (descriptors, descendant processes) must not blame a test of another thread. Both harnesses:
 * leakguard's runner (the plugin's default), and the setup file's hooks, which the plugin uses
 * when the project has a test runner of its own.
 */
export const HARNESS_RUNS = [
  { pool: 'forks', harness: 'runner' },
  { pool: 'threads', harness: 'runner' },
  { pool: 'forks', harness: 'hooks' },
] as const

/** A test runner of the project's own, for the hooks harness. */
export const OWN_RUNNER = join(import.meta.dirname, '..', 'fixtures', 'zoo', 'own-runner.ts')

/** Options that select a run's harness. */
export function harnessOptions(harness: 'runner' | 'hooks'): { runner?: string; env: Record<string, string> } {
  return { ...(harness === 'hooks' ? { runner: OWN_RUNNER } : {}), env: { ZOO_HARNESS: harness } }
}
