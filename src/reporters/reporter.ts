// The Vitest reporter: collects task.meta.leaks and writes .leakguard/report.json.
import { relative } from 'node:path'
import type { Reporter, TestModule, Vitest } from 'vitest/node'
import type { Leak } from '../detector/types.js'
import { DEFAULT_OUTPUT, SCHEMA_VERSION, toReportLeak, writeReport, type ReportLeak } from './schema.js'

export interface LeakguardReporterOptions {
  /**
   * Where the JSON report goes, relative to the Vitest root.
   * @default '.leakguard/report.json'
   */
  readonly outputFile?: string
}

function leaksOf(meta: unknown): Leak[] {
  const leaks = (meta as { leaks?: unknown } | undefined)?.leaks
  return Array.isArray(leaks) ? (leaks as Leak[]) : []
}

export default class LeakguardReporter implements Reporter {
  private vitest: Vitest | undefined
  private readonly outputFile: string

  constructor(options: LeakguardReporterOptions = {}) {
    this.outputFile = options.outputFile ?? DEFAULT_OUTPUT
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const root = this.vitest?.config.root ?? process.cwd()
    const leaks: ReportLeak[] = []
    for (const mod of testModules) {
      const file = relative(root, mod.moduleId)
      for (const test of mod.children.allTests()) {
        for (const leak of leaksOf(test.meta())) leaks.push(toReportLeak(leak, file, test.fullName, root))
      }
      for (const leak of leaksOf(mod.meta())) leaks.push(toReportLeak(leak, file, null, root))
    }
    const path = writeReport({ schemaVersion: SCHEMA_VERSION, leaks }, this.outputFile, root)
    const shown = relative(process.cwd(), path) || path
    this.vitest?.logger.log(`[leakguard] ${leaks.length === 0 ? 'no leaks' : `${leaks.length} leak${leaks.length === 1 ? '' : 's'}`}; report written to ${shown}`)
  }
}
