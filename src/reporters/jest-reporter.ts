// The Jest reporter: `reporters: ['default', 'leakguard/jest-reporter']`. It runs in Jest's main
// process, makes the run's folder before the test workers start (they inherit its path), and at the
// end of the run reads back what every test file leaked into one report: printed after Jest's
// summary, written to .leakguard/report.json, annotated on GitHub Actions. Bundled to CommonJS
// (dist/reporters/jest-reporter.cjs): Jest 29 loads reporters with require.
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { readConfigFile, type FileConfig } from '../harness/config-file.js'
import { disabledByEnv } from '../harness/env.js'
import { publishReport } from './publish.js'
import { createRunDir, readRunDir, removeRunDir, reportFromResults } from './run-dir.js'

interface JestGlobalConfig {
  readonly rootDir: string
  readonly shard?: { readonly shardIndex: number; readonly shardCount: number } | null
}
interface JestAggregatedResult {
  readonly wasInterrupted?: boolean
}

export interface LeakguardJestReporterOptions {
  /**
   * GitHub Actions annotations and job summary: `'auto'` turns them on when `GITHUB_ACTIONS=true`.
   * @default 'auto'
   * @example reporters: ['default', ['leakguard/jest-reporter', { github: false }]]
   */
  readonly github?: boolean | 'auto'
}

function jestVersion(rootDir: string): string {
  try {
    return (createRequire(join(rootDir, 'package.json'))('jest/package.json') as { version: string }).version
  } catch {
    return 'unknown'
  }
}

export default class LeakguardJestReporter {
  private readonly rootDir: string
  private readonly shard: JestGlobalConfig['shard']
  private readonly github: boolean | 'auto'
  private readonly config: FileConfig | null = null
  private error: Error | undefined
  private dir: string | null = null
  private startedAt = new Date()

  constructor(globalConfig: JestGlobalConfig, options: LeakguardJestReporterOptions = {}) {
    this.rootDir = globalConfig.rootDir
    this.shard = globalConfig.shard
    this.github = options?.github ?? 'auto'
    if (disabledByEnv()) return
    try {
      this.config = readConfigFile(process.cwd())
    } catch (e) {
      // The test files fail with the same line; the run fails once more here, without a stack.
      this.error = e as Error
      process.exitCode = 1
    }
  }

  onRunStart(): void {
    this.startedAt = new Date()
    if (this.error) process.stderr.write(`${this.error.message}\n`)
    if (this.config) this.dir = createRunDir(this.rootDir)
  }

  onRunComplete(_contexts: unknown, results: JestAggregatedResult): void {
    const dir = this.dir
    if (!dir || !this.config) return
    this.dir = null
    const { results: fileResults, skipped } = readRunDir(dir)
    removeRunDir(dir)
    const report = reportFromResults(fileResults, this.rootDir, {
      runner: 'jest',
      vitestVersion: jestVersion(this.rootDir),
      startedAt: this.startedAt.toISOString(),
      shard: this.shard ? { index: this.shard.shardIndex, count: this.shard.shardCount } : null,
      merged: false,
      interrupted: Boolean(results?.wasInterrupted),
    })
    const write = (text: string): void => void process.stderr.write(`${text}\n`)
    for (const name of skipped) write(`[leakguard] skipped an unreadable result in the run's folder: ${name}`)
    publishReport(report, {
      // Relative to the folder of leakguard.config.json: the working directory.
      outputFile: resolve(process.cwd(), this.config.outputFile),
      root: this.rootDir,
      github: this.github,
      log: write,
      error: write,
      width: process.stderr.columns,
    })
  }

  /** Jest fails the run when a reporter has an error to give. */
  getLastError(): Error | undefined {
    return this.error
  }
}
