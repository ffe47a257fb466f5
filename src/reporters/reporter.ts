// The Vitest reporter: collects task.meta.leaks, prints them after Vitest's summary, writes
// .leakguard/report.json, annotates GitHub Actions runs, and says what keeps a hung run alive.
import { relative } from 'node:path'
import type { Reporter, SerializedError, TestModule, Vitest } from 'vitest/node'
import type { Leak } from '../detector/types.js'
import { atLeast, unsupportedVitest } from '../shared/vitest-version.js'
import { formatKeptAlive, MainProcessTracker } from './hanging.js'
import { publishReport } from './publish.js'
import { assembleReport, DEFAULT_OUTPUT, toReportLeak, type Report, type ReportLeak } from './schema.js'

export interface LeakguardReporterOptions {
  /**
   * Where the JSON report goes, relative to the Vitest root.
   * @default '.leakguard/report.json'
   * @example reporters: ['default', ['leakguard/reporter', { outputFile: 'reports/leaks.json' }]]
   */
  readonly outputFile?: string
  /**
   * GitHub Actions annotations and job summary: `'auto'` turns them on when `GITHUB_ACTIONS=true`.
   * @default 'auto'
   */
  readonly github?: boolean | 'auto'
}

function leaksOf(meta: unknown): Leak[] {
  const leaks = (meta as { leaks?: unknown } | undefined)?.leaks
  return Array.isArray(leaks) ? (leaks as Leak[]) : []
}

function toPosix(p: string): string {
  return p.split('\\').join('/')
}

function parseShard(shard: unknown): Report['shard'] {
  const m = typeof shard === 'string' ? /^(\d+)\/(\d+)$/.exec(shard) : null
  return m ? { index: Number(m[1]), count: Number(m[2]) } : null
}

export default class LeakguardReporter implements Reporter {
  private vitest: Vitest | undefined
  private readonly outputFile: string
  private readonly github: boolean | 'auto'
  private startedAt = new Date()
  private readonly tracker = new MainProcessTracker()
  /** Vitest 3: the end of the run, printed from onFinished (see there). */
  private pending: (() => void) | null = null
  private printsInOnFinished = false

  constructor(options: LeakguardReporterOptions = {}) {
    if (options.outputFile !== undefined && (typeof options.outputFile !== 'string' || options.outputFile === '')) {
      throw new TypeError(`leakguard reporter: \`outputFile\` must be a non-empty path; received ${JSON.stringify(options.outputFile)}.`)
    }
    this.outputFile = options.outputFile ?? DEFAULT_OUTPUT
    this.github = options.github ?? 'auto'
  }

  onInit(vitest: Vitest): void {
    // Manual wiring on an old Vitest: one error at start-up (the plugin checks in its config hook).
    const unsupported = unsupportedVitest(vitest.version)
    if (unsupported) throw unsupported
    this.vitest = vitest
    this.printsInOnFinished = !atLeast(vitest.version, 4, 0)
    this.startedAt = new Date()
    this.tracker.start()
    vitest.onClose(() => this.tracker.stop())
  }

  onTestRunStart(): void {
    this.startedAt = new Date()
  }

  /** The report of a finished run, as written to the JSON file. */
  private buildReport(testModules: ReadonlyArray<TestModule>, reason?: string): Report {
    const root = this.vitest?.config.root ?? process.cwd()
    const named = testModules.some((m) => m.project.name)
    const files: { file: string; project: string; leaks: ReportLeak[] }[] = []
    let testsChecked = 0
    let earliest = Infinity
    for (const mod of testModules) {
      const file = toPosix(relative(root, mod.moduleId))
      const project = named ? mod.project.name : ''
      const leaks = leaksOf(mod.meta()).map((leak) => toReportLeak(leak, file, null, root, project))
      for (const test of mod.children.allTests()) {
        const state = test.result().state
        if (state === 'passed' || state === 'failed') testsChecked++
        for (const leak of leaksOf(test.meta())) leaks.push(toReportLeak(leak, file, test.fullName, root, project))
      }
      const start = (mod as unknown as { task?: { result?: { startTime?: number } } }).task?.result?.startTime
      if (typeof start === 'number' && start < earliest) earliest = start
      files.push({ file, project, leaks })
    }
    const merged = Boolean(this.vitest?.config.mergeReports)
    // A merged run starts when its first shard did; the blobs carry the files' start times.
    const startedAt = merged && Number.isFinite(earliest) ? new Date(earliest) : this.startedAt
    return assembleReport(files, testsChecked, {
      runner: 'vitest',
      vitestVersion: this.vitest?.version ?? 'unknown',
      startedAt: startedAt.toISOString(),
      shard: parseShard((this.vitest?.config as { shard?: unknown } | undefined)?.shard),
      merged,
      interrupted: reason === 'interrupted',
    })
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, _errors?: ReadonlyArray<SerializedError>, reason?: string): void {
    this.tracker.fixSites()
    const end = (): void => this.end(testModules, reason)
    if (this.printsInOnFinished) this.pending = end
    else end()
  }

  /**
   * Vitest 3 calls onFinished (where its own reporters print their summary) right after
   * onTestRunEnd: leakguard's part comes after that summary there too.
   */
  onFinished(): void {
    const end = this.pending
    this.pending = null
    end?.()
  }

  private end(testModules: ReadonlyArray<TestModule>, reason?: string): void {
    const vitest = this.vitest
    // An interrupted run (Ctrl-C, --bail) still gets its report, marked as such.
    publishReport(this.buildReport(testModules, reason), {
      outputFile: this.outputFile,
      root: vitest?.config.root ?? process.cwd(),
      github: this.github,
      log: (text) => (vitest ? vitest.logger.log(text) : void process.stdout.write(`${text}\n`)),
      error: (text) => (vitest ? vitest.logger.error(text) : void process.stderr.write(`${text}\n`)),
      width: (vitest?.logger.outputStream as { columns?: number } | undefined)?.columns,
    })
  }

  /** Vitest's teardownTimeout ran out: say what keeps the main process alive, then Vitest exits. */
  onProcessTimeout(): void {
    const root = this.vitest?.config.root ?? process.cwd()
    const lines = formatKeptAlive(this.tracker.keptAlive(root))
    const text = lines.length > 0 ? lines.join('\n') : '[leakguard] Vitest\'s teardown timed out, but nothing that leakguard can see keeps the main process alive.'
    if (this.vitest) this.vitest.logger.error(text)
    else process.stderr.write(`${text}\n`)
  }
}
