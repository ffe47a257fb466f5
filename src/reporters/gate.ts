// The CI gate: compares a report with a baseline of accepted leaks. A leak's identity is its file,
// test, kind and creation site's file and function, never line numbers, so edits above a leak do
// not make it "new".
import { existsSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { DEFAULT_OUTPUT, parseSite, readJsonFile, readReport, ReportInputError, SCHEMA_VERSION, writeFileAtomic, type Report, type ReportLeak } from './schema.js'

export const DEFAULT_BASELINE = '.leakguard/baseline.json'

export interface GateOptions {
  /**
   * The report written by the leakguard reporter.
   * @default '.leakguard/report.json'
   */
  readonly report?: string
  /**
   * Accepted leaks. A missing file at the default path is an empty baseline; a missing file at a
   * path given here is bad input (unless `updateBaseline` creates it).
   * @default '.leakguard/baseline.json'
   */
  readonly baseline?: string
  /**
   * Write the report's leaks as the new baseline (sorted, stable), dropping the fixed ones.
   * @default false
   */
  readonly updateBaseline?: boolean
  /**
   * Folder that relative paths are resolved against.
   * @default process.cwd()
   */
  readonly cwd?: string
}

/** A leak as the baseline knows it: no line numbers, no ports or pids. */
export interface BaselineEntry {
  readonly file: string
  readonly test: string | null
  readonly kind: string
  /** The creation site's file (`path`, without line and column), or null when unknown. */
  readonly siteFile: string | null
  /** The creation site's function, or null when unknown (then any function matches). */
  readonly siteFunction: string | null
}

export interface Baseline {
  readonly schemaVersion: typeof SCHEMA_VERSION
  readonly leaks: readonly BaselineEntry[]
}

export interface GateResult {
  /** 0: no leak outside the baseline (or the baseline was updated); 1: new leaks. */
  readonly exitCode: 0 | 1
  readonly report: Report
  readonly reportPath: string
  readonly baselinePath: string
  /** Leaks of the report that the baseline does not cover. */
  readonly newLeaks: readonly ReportLeak[]
  /** Leaks of the report that the baseline covers. */
  readonly knownLeaks: readonly ReportLeak[]
  /** Baseline entries with no leak in the report any more. */
  readonly fixed: readonly BaselineEntry[]
  /** True when `updateBaseline` wrote the baseline. */
  readonly baselineUpdated: boolean
}

export function baselineEntry(leak: ReportLeak): BaselineEntry {
  const site = parseSite(leak.site)
  return {
    file: leak.file,
    test: leak.test,
    kind: leak.kind,
    siteFile: site ? site.file : leak.site,
    siteFunction: leak.siteFunction ?? null,
  }
}

function key(e: BaselineEntry, withFunction: boolean): string {
  return JSON.stringify([e.file, e.test, e.kind, e.siteFile, withFunction ? e.siteFunction : null])
}

function compareEntries(a: BaselineEntry, b: BaselineEntry): number {
  const fields = ['file', 'test', 'kind', 'siteFile', 'siteFunction'] as const
  for (const f of fields) {
    const x = a[f] ?? ''
    const y = b[f] ?? ''
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/** Sorted entries, each with its fields in a fixed order: the same leaks give the same bytes. */
export function formatBaseline(entries: readonly BaselineEntry[]): string {
  const leaks = [...entries].sort(compareEntries).map((e) => ({
    file: e.file,
    test: e.test,
    kind: e.kind,
    siteFile: e.siteFile,
    siteFunction: e.siteFunction,
  }))
  return `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, leaks }, null, 2)}\n`
}

export function readBaseline(path: string, label: string = path): Baseline {
  const data = readJsonFile(path, {
    missing: `baseline ${label} does not exist; create it with \`leakguard gate --update-baseline\`, or leave out \`--baseline\`.`,
    unreadable: (why) => `cannot read baseline ${label} (${why}); check the path and its permissions.`,
    notJson: `baseline ${label} is not JSON; write it again with \`leakguard gate --update-baseline\`.`,
  })
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion
  if (version !== SCHEMA_VERSION) {
    throw new ReportInputError(
      `baseline ${label} has schemaVersion ${JSON.stringify(version ?? null)}, this leakguard reads version ${SCHEMA_VERSION}; write it again with \`leakguard gate --update-baseline\`.`,
    )
  }
  const leaks = (data as { leaks?: unknown }).leaks
  const valid =
    Array.isArray(leaks) &&
    leaks.every(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        typeof e.file === 'string' &&
        (e.test === null || typeof e.test === 'string') &&
        typeof e.kind === 'string',
    )
  if (!valid) {
    throw new ReportInputError(`baseline ${label} has no valid \`leaks\` list (each needs file, test and kind); write it again with \`leakguard gate --update-baseline\`.`)
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    leaks: (leaks as Partial<BaselineEntry>[]).map((e) => ({
      file: e.file!,
      test: e.test ?? null,
      kind: e.kind!,
      siteFile: typeof e.siteFile === 'string' ? e.siteFile : null,
      siteFunction: typeof e.siteFunction === 'string' ? e.siteFunction : null,
    })),
  }
}

/**
 * Matches leaks to baseline entries as multisets: two equal leaks need two entries. An entry or
 * leak without a function name matches any function (the detector may not know it).
 */
export function compare(leaks: readonly ReportLeak[], baseline: readonly BaselineEntry[]): {
  newLeaks: ReportLeak[]
  knownLeaks: ReportLeak[]
  fixed: BaselineEntry[]
} {
  const remaining = baseline.map((entry) => ({ entry, used: false }))
  const unmatched: ReportLeak[] = []
  const knownLeaks: ReportLeak[] = []
  for (const leak of leaks) {
    const k = key(baselineEntry(leak), true)
    const hit = remaining.find((r) => !r.used && key(r.entry, true) === k)
    if (hit) {
      hit.used = true
      knownLeaks.push(leak)
    } else {
      unmatched.push(leak)
    }
  }
  const newLeaks: ReportLeak[] = []
  for (const leak of unmatched) {
    const entry = baselineEntry(leak)
    const loose = key(entry, false)
    const hit = remaining.find(
      (r) => !r.used && key(r.entry, false) === loose && (r.entry.siteFunction === null || entry.siteFunction === null),
    )
    if (hit) {
      hit.used = true
      knownLeaks.push(leak)
    } else {
      newLeaks.push(leak)
    }
  }
  return { newLeaks, knownLeaks, fixed: remaining.filter((r) => !r.used).map((r) => r.entry) }
}

/**
 * Checks a report against the baseline. Throws `ReportInputError` (one line, saying what to do)
 * for a missing or invalid report or baseline.
 * @example
 * const result = gate({ report: '.leakguard/report.json' })
 * process.exitCode = result.exitCode
 */
export function gate(options: GateOptions = {}): GateResult {
  if (options.report !== undefined && (typeof options.report !== 'string' || options.report === '')) {
    throw new TypeError(`gate: \`report\` must be a non-empty path; received ${JSON.stringify(options.report)}.`)
  }
  if (options.baseline !== undefined && (typeof options.baseline !== 'string' || options.baseline === '')) {
    throw new TypeError(`gate: \`baseline\` must be a non-empty path; received ${JSON.stringify(options.baseline)}.`)
  }
  const cwd = options.cwd ?? process.cwd()
  const reportPath = resolve(cwd, options.report ?? DEFAULT_OUTPUT)
  const baselinePath = resolve(cwd, options.baseline ?? DEFAULT_BASELINE)
  const label = (path: string): string => {
    const rel = relative(cwd, path)
    return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
  }
  const report = readReport(reportPath, label(reportPath))
  const explicit = options.baseline !== undefined
  const baseline =
    (explicit && !options.updateBaseline) || existsSync(baselinePath) ? readBaseline(baselinePath, label(baselinePath)).leaks : []
  const { newLeaks, knownLeaks, fixed } = compare(report.leaks, baseline)
  if (options.updateBaseline) {
    try {
      writeFileAtomic(baselinePath, formatBaseline(report.leaks.map(baselineEntry)))
    } catch (error) {
      throw new ReportInputError(
        `cannot write baseline ${label(baselinePath)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a writable path with \`--baseline\`.`,
      )
    }
  }
  return {
    exitCode: newLeaks.length > 0 && !options.updateBaseline ? 1 : 0,
    report,
    reportPath,
    baselinePath,
    newLeaks,
    knownLeaks,
    fixed,
    baselineUpdated: Boolean(options.updateBaseline),
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function where(e: { file: string; test: string | null }): string {
  return e.test === null ? `${e.file} (file level)` : `${e.file} > ${e.test}`
}

/** The text `leakguard gate` prints for a result; paths are shown relative to `cwd`. */
export function formatGateResult(result: GateResult, show: (path: string) => string = (p) => p): string {
  const lines: string[] = []
  const baseline = show(result.baselinePath)
  const fixedLines = result.fixed.map((e) => `  - ${where(e)}: ${e.kind}${e.siteFile ? ` created in ${e.siteFile}${e.siteFunction ? ` (${e.siteFunction})` : ''}` : ''}`)
  if (result.baselineUpdated) {
    lines.push(
      `leakguard gate: wrote ${baseline} with ${plural(result.report.leaks.length, 'leak')} (${result.newLeaks.length} new, ${result.knownLeaks.length} already known).`,
    )
    if (result.fixed.length > 0) lines.push(`${plural(result.fixed.length, 'leak')} fixed since, dropped from the baseline:`, ...fixedLines)
    return `${lines.join('\n')}\n`
  }
  if (result.newLeaks.length > 0) {
    lines.push(`leakguard gate: ${plural(result.newLeaks.length, 'new leak')} (not in ${baseline}):`, '')
    for (const leak of result.newLeaks) {
      lines.push(`  ${where(leak)}`)
      lines.push(`    ${leak.kind}: ${leak.description}`)
      lines.push(`    created at ${leak.site ?? 'an unknown place'}${leak.siteFunction ? ` (${leak.siteFunction})` : ''}`)
      if (leak.hint) lines.push(`    ${leak.hint}`)
      lines.push('')
    }
    lines.push(`Fix ${result.newLeaks.length === 1 ? 'it' : 'them'}, or accept ${result.newLeaks.length === 1 ? 'it' : 'them'} with \`leakguard gate --update-baseline\`.`)
  } else if (result.report.leaks.length === 0) {
    lines.push(`leakguard gate: no leaks (${plural(result.report.totals?.testsChecked ?? 0, 'test')} checked).`)
  } else {
    lines.push(`leakguard gate: no new leaks; ${plural(result.knownLeaks.length, 'known leak')} accepted by ${baseline}.`)
  }
  if (result.report.interrupted) {
    lines.push('Note: the test run was interrupted; tests that did not run were not checked for leaks.')
  }
  if (result.report.shard) {
    lines.push(
      `Note: this report covers shard ${result.report.shard.index}/${result.report.shard.count} only; gate the report of \`vitest --merge-reports\` to check every shard.`,
    )
  }
  if (result.fixed.length > 0) {
    lines.push(
      `${plural(result.fixed.length, 'leak')} in the baseline ${result.fixed.length === 1 ? 'is' : 'are'} fixed; drop ${result.fixed.length === 1 ? 'it' : 'them'} with \`leakguard gate --update-baseline\`:`,
      ...fixedLines,
    )
  }
  return `${lines.join('\n')}\n`
}
