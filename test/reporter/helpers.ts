// Runs Vitest from code on the reporter's fixture suites and captures what a user would see.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { startVitest } from 'vitest/node'
import { leakguard } from 'leakguard/vitest'
import type { Report } from 'leakguard'
import { ROOT, Sink } from '../helpers/run-vitest.js'

export { ROOT }
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'reporter')
export const SUITE = join(FIXTURES, 'suite')

export interface Run {
  /** stdout and stderr of Vitest, colours removed. */
  readonly output: string
  /** The report, or null when it was not written. */
  readonly report: Report | null
  /** process.exitCode as Vitest left it. */
  readonly exitCode: number | string | undefined
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'leakguard-reporter-'))
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true })
}

/** Sets environment variables for the duration of `fn` (the reporter runs in this process). */
export async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  const set = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
  set(env)
  try {
    return await fn()
  } finally {
    set(saved)
  }
}

export interface RunOptions {
  readonly include?: string[]
  /** Where the leak report goes (absolute); null: do not read it back. */
  readonly outputFile: string
  /** Vitest CLI-level options: shard, reporters, outputFile, mergeReports… */
  readonly vitest?: Record<string, unknown>
  /** Leave out the leakguard plugin (a shard run's reporters come from the CLI anyway). */
  readonly plugin?: boolean
}

export async function runSuite(options: RunOptions): Promise<Run> {
  const sink = new Sink()
  const exitCode = process.exitCode
  process.exitCode = undefined
  const vitest = await startVitest(
    'test',
    [],
    {
      root: SUITE,
      config: false,
      watch: false,
      include: options.include ?? ['test/*.test.ts'],
      pool: 'forks',
      ...options.vitest,
    } as never,
    { plugins: options.plugin === false ? [] : [leakguard({ outputFile: options.outputFile }) as never] },
    { stdout: sink, stderr: sink },
  )
  let result: Run
  try {
    let report: Report | null = null
    try {
      report = JSON.parse(readFileSync(options.outputFile, 'utf8')) as Report
    } catch {
      report = null
    }
    result = { output: stripVTControlCharacters(sink.text), report, exitCode: process.exitCode }
  } finally {
    await vitest.close()
    process.exitCode = exitCode
  }
  return result
}

/** The reporter's block: from the `Leaks` divider (or the summary line when clean) to the summary line. */
export function leakBlock(output: string): string {
  const lines = output.split('\n')
  const end = lines.findIndex((l) => /^ {6}Leaks {2}/.test(l))
  if (end === -1) throw new Error(`no leakguard summary line in:\n${output}`)
  let start = end
  for (let i = end; i >= 0; i--) {
    if (/⎯ Leaks \d+ ⎯/.test(lines[i]!)) {
      start = i
      break
    }
  }
  return lines.slice(start, end + 1).join('\n')
}

/** Ports and the report's temporary path vary from run to run. */
export function normalize(text: string): string {
  return text
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:40123')
    .replace(/ · report: \S+/g, ' · report: .leakguard/report.json')
}
