// The report file, schema version 1: its types, how a run becomes one, and how it is written and
// read back. Imports nothing of Vitest, so the CLI (`leakguard gate`) can use it.
import { fs } from '../shared/node-fs.js'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LEAK_KINDS, type Leak, type LeakKind } from '../detector/types.js'

export const SCHEMA_VERSION = 1
export const DEFAULT_OUTPUT = '.leakguard/report.json'

/** One leaked resource in the report. */
export interface ReportLeak {
  /** Test file, relative to the Vitest root, with `/` separators. */
  readonly file: string
  /** Vitest's full test name (suites joined with ` > `), or null for a leak of the file itself. */
  readonly test: string | null
  /** `test` for a leak of one test, `file` for one of module scope, describe callbacks or beforeAll/afterAll. */
  readonly phase: 'test' | 'file'
  readonly kind: LeakKind
  /** Plain-English description, e.g. "HTTP server listening on 127.0.0.1:40123". */
  readonly description: string
  /** Creation site `path:line:col`, relative to the root when inside it; null when unknown. */
  readonly site: string | null
  /** Name of the function that created the resource, when the detector knows it; else null. */
  readonly siteFunction: string | null
  /** The call that would have released it. */
  readonly hint: string
  /** Kind-specific details: address, port, pid, command, path, delay… */
  readonly details: Leak['details']
  /** Present (true) when leakguard terminated the leaked process after reporting it. */
  readonly terminated?: boolean
  /** Vitest project name, present only when the run has named projects. */
  readonly project?: string
}

export interface ReportTotals {
  /** Tests that ran (passed or failed); skipped and todo tests are not checked. */
  readonly testsChecked: number
  /** Tests with at least one leak. */
  readonly testsLeaking: number
  /** Test files with at least one leak (of a test or of the file). */
  readonly filesLeaking: number
  /** All leaks, test-level and file-level. */
  readonly leaks: number
  /** Leaks per kind; every kind is present, 0 when none. */
  readonly byKind: Readonly<Record<LeakKind, number>>
}

export interface Report {
  readonly schemaVersion: typeof SCHEMA_VERSION
  /** Version of leakguard that wrote the report. */
  readonly leakguardVersion: string
  /** The test runner that ran the tests. Absent in reports written before node:test and Jest were supported: Vitest. */
  readonly runner?: 'vitest' | 'node:test' | 'jest'
  /** Version of Vitest that ran the tests; under node:test or Jest, the runner's version (Node's, Jest's). */
  readonly vitestVersion: string
  /** When the run started, ISO 8601 (UTC). */
  readonly startedAt: string
  /** `{ index, count }` when this run was one shard (`--shard=index/count`); else null. */
  readonly shard: { readonly index: number; readonly count: number } | null
  /** True when the run was `vitest --merge-reports` over blob reports. */
  readonly merged: boolean
  /** True when the run was cut short (Ctrl-C, `--bail`): tests that did not run were not checked. */
  readonly interrupted: boolean
  readonly totals: ReportTotals
  /** Sorted by file, then in the order of the tests in the file; file-level leaks first. */
  readonly leaks: readonly ReportLeak[]
}

/** Bad input to `readReport` / `leakguard gate`: a missing file, bad JSON, another schema. */
export class ReportInputError extends Error {
  override readonly name = 'ReportInputError'
}

function toPosix(p: string): string {
  return p.split('\\').join('/')
}

const SITE_RE = /^(.*):(\d+):(\d+)$/

/** Splits `path:line:col`; null when the site has no line and column. */
export function parseSite(site: string | null): { file: string; line: number; col: number } | null {
  const m = site ? SITE_RE.exec(site) : null
  return m ? { file: m[1]!, line: Number(m[2]), col: Number(m[3]) } : null
}

export function relativeSite(site: string | null, root: string): string | null {
  if (!site) return null
  const m = SITE_RE.exec(site)
  if (!m || !isAbsolute(m[1]!)) return site
  const rel = relative(root, m[1]!)
  return rel.startsWith('..') || isAbsolute(rel) ? toPosix(site) : `${toPosix(rel)}:${m[2]}:${m[3]}`
}

export function toReportLeak(leak: Leak, file: string, test: string | null, root: string, project = ''): ReportLeak {
  // `siteFunction` is read when the detector provides it (see the report to the detector's owner).
  const siteFunction = (leak as { siteFunction?: unknown }).siteFunction
  return {
    file: toPosix(file),
    test,
    phase: test === null ? 'file' : 'test',
    kind: leak.kind,
    description: leak.description,
    site: relativeSite(leak.site, root),
    siteFunction: typeof siteFunction === 'string' && siteFunction !== '' ? siteFunction : null,
    hint: leak.hint,
    details: leak.details,
    ...(leak.terminated ? { terminated: true } : {}),
    ...(project ? { project } : {}),
  }
}

export function emptyByKind(): Record<LeakKind, number> {
  return Object.fromEntries(LEAK_KINDS.map((k) => [k, 0])) as Record<LeakKind, number>
}

export function computeTotals(leaks: readonly ReportLeak[], testsChecked: number): ReportTotals {
  const byKind = emptyByKind()
  const tests = new Set<string>()
  const files = new Set<string>()
  for (const leak of leaks) {
    byKind[leak.kind] = (byKind[leak.kind] ?? 0) + 1
    const file = `${leak.project ?? ''}\0${leak.file}`
    files.add(file)
    if (leak.test !== null) tests.add(`${file}\0${leak.test}`)
  }
  return { testsChecked, testsLeaking: tests.size, filesLeaking: files.size, leaks: leaks.length, byKind }
}

/** One test file's leaks, as reporters gather them before the report is assembled. */
export interface FileLeaks {
  readonly file: string
  readonly project: string
  readonly leaks: readonly ReportLeak[]
}

/** What describes the run, besides its leaks. */
export type RunInfo = Omit<Report, 'schemaVersion' | 'leakguardVersion' | 'totals' | 'leaks'>

/** The report of a run: files sorted (the leaks of each in the order given), totals counted. */
export function assembleReport(files: readonly FileLeaks[], testsChecked: number, run: RunInfo): Report {
  const sorted = [...files].sort((a, b) => (a.file === b.file ? a.project.localeCompare(b.project) : a.file < b.file ? -1 : 1))
  const leaks = sorted.flatMap((f) => f.leaks)
  return { schemaVersion: SCHEMA_VERSION, leakguardVersion: leakguardVersion(), ...run, totals: computeTotals(leaks, testsChecked), leaks }
}

let cachedVersion: string | undefined
/** leakguard's own version, from its package.json (the nearest folder up from this file, bundled or not). */
export function leakguardVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'leakguard' && pkg.version) return (cachedVersion = pkg.version)
    } catch {
      // No package.json here: look further up.
    }
    if (dirname(dir) === dir) return (cachedVersion = 'unknown')
  }
}

/**
 * Writes through a temporary file and a rename, so a reader never sees half a file.
 * Throws (with the temporary file removed) when the folder cannot be created or written.
 */
export function writeFileAtomic(path: string, text: string): void {
  fs.mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`
  try {
    fs.writeFileSync(tmp, text)
    fs.renameSync(tmp, path)
  } catch (error) {
    fs.rmSync(tmp, { force: true })
    throw error
  }
}

/** Writes the report at `outputFile` (resolved against `root`) and returns the absolute path. */
export function writeReport(report: Report, outputFile: string, root: string): string {
  const path = resolve(root, outputFile)
  writeFileAtomic(path, `${JSON.stringify(report, null, 2)}\n`)
  return path
}

function describeValue(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v
}

/**
 * Reads and checks a report file. Throws `ReportInputError` with a one-line message that says
 * what to do when the file is missing, is not JSON, or is not a schema-1 leakguard report.
 */
export function readReport(path: string, label: string = path): Report {
  const data = readJsonFile(path, {
    missing: `${label} does not exist; run the tests with the leakguard plugin first, or pass the report's path.`,
    folder: `${label} is a folder; pass the path of the report file (e.g. ${DEFAULT_OUTPUT}).`,
    unreadable: (why) => `cannot read ${path} (${why}); check its permissions.`,
    notJson: `${label} is not JSON; pass the report written by the leakguard reporter (${DEFAULT_OUTPUT}).`,
  })
  return checkReport(data, label)
}

/** Reads and parses a JSON file; each way that can fail is a one-line ReportInputError. */
export function readJsonFile(
  path: string,
  say: { readonly missing: string; readonly folder?: string; readonly unreadable: (why: string) => string; readonly notJson: string },
): unknown {
  let text: string
  try {
    text = fs.readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new ReportInputError(say.missing)
    if (code === 'EISDIR' && say.folder) throw new ReportInputError(say.folder)
    throw new ReportInputError(say.unreadable(code ?? (error as Error).message))
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ReportInputError(say.notJson)
  }
}

export function checkReport(data: unknown, path: string): Report {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ReportInputError(`${path} is not a leakguard report (its top level is ${describeValue(data)}); pass the report written by the leakguard reporter.`)
  }
  const version = (data as { schemaVersion?: unknown }).schemaVersion
  if (version === undefined) {
    throw new ReportInputError(`${path} has no \`schemaVersion\`, so it is not a leakguard report; pass the report written by the leakguard reporter.`)
  }
  if (version !== SCHEMA_VERSION) {
    throw new ReportInputError(
      `${path} has schemaVersion ${JSON.stringify(version)}, this leakguard reads version ${SCHEMA_VERSION}; use the leakguard version that wrote it, or re-run the tests.`,
    )
  }
  const leaks = (data as { leaks?: unknown }).leaks
  if (!Array.isArray(leaks)) {
    throw new ReportInputError(`${path} has no \`leaks\` array; it is not a complete leakguard report, re-run the tests to write it again.`)
  }
  leaks.forEach((leak, i) => {
    const l = leak as Partial<ReportLeak> | null
    const ok =
      l !== null &&
      typeof l === 'object' &&
      typeof l.file === 'string' &&
      (l.test === null || typeof l.test === 'string') &&
      typeof l.kind === 'string' &&
      (l.site === null || l.site === undefined || typeof l.site === 'string')
    if (!ok) {
      throw new ReportInputError(`${path}: leaks[${i}] lacks \`file\`, \`test\` or \`kind\`; re-run the tests to write the report again.`)
    }
  })
  return data as Report
}
