// The end of a run, for every test runner: write the report, print it after the runner's summary,
// annotate GitHub Actions runs. A report that cannot be written fails the run through
// `process.exitCode` (never a throw: a runner may skip what comes after a throwing reporter).
import { appendFileSync } from 'node:fs'
import { relative } from 'node:path'
import { annotations, stepSummary } from './github.js'
import { writeReport, type Report } from './schema.js'
import { colorsEnabled, createColors, renderReport } from './terminal.js'

export interface PublishOptions {
  /** Where the report goes, relative to `root`. */
  readonly outputFile: string
  /** Paths in the report and the output are relative to it. */
  readonly root: string
  /** GitHub Actions annotations and job summary: `'auto'` turns them on when `GITHUB_ACTIONS=true`. */
  readonly github: boolean | 'auto'
  readonly log: (text: string) => void
  readonly error: (text: string) => void
  /** Terminal width; capped at 120. */
  readonly width?: number
}

function toPosix(p: string): string {
  return p.split('\\').join('/')
}

export function publishReport(report: Report, o: PublishOptions): void {
  let shown: string | null = null
  let failure: string | null = null
  try {
    const path = writeReport(report, o.outputFile, o.root)
    const rel = relative(process.cwd(), path)
    shown = rel && !rel.startsWith('..') ? toPosix(rel) : path
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    failure = `[leakguard] could not write the leak report to ${o.outputFile} (${err.code ?? err.message}); make that folder writable or set \`outputFile\` to a writable path.`
  }

  const colors = createColors(colorsEnabled())
  o.log(renderReport(report, { colors, root: o.root, reportPath: shown, width: Math.min(o.width ?? 80, 120) }))

  if (o.github === true || (o.github === 'auto' && process.env.GITHUB_ACTIONS === 'true')) {
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd()
    for (const line of annotations(report, o.root, workspace)) o.log(line)
    const summary = process.env.GITHUB_STEP_SUMMARY
    if (summary) {
      try {
        appendFileSync(summary, stepSummary(report))
      } catch (e) {
        o.error(`[leakguard] could not append the job summary to ${summary} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`)
      }
    }
  }

  if (failure) {
    o.error(colors.red(failure))
    process.exitCode = 1
  }
}
