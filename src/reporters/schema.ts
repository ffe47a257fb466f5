// The report file: schema version 1, written atomically at the Vitest root.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve } from 'node:path'
import type { Leak, LeakKind } from '../detector/types.js'

export const SCHEMA_VERSION = 1
export const DEFAULT_OUTPUT = '.leakguard/report.json'

export interface ReportLeak {
  /** Test file, relative to the Vitest root, with `/` separators. */
  readonly file: string
  /** Vitest's full test name (suites joined with ` > `), or null for a leak of the file itself. */
  readonly test: string | null
  readonly kind: LeakKind
  readonly description: string
  /** Creation site `path:line:col`, relative to the root when inside it; null when unknown. */
  readonly site: string | null
  readonly phase: 'test' | 'file'
  readonly hint: string
  readonly details: Leak['details']
  readonly terminated?: boolean
}

export interface Report {
  readonly schemaVersion: typeof SCHEMA_VERSION
  readonly leaks: readonly ReportLeak[]
}

function toPosix(p: string): string {
  return p.split('\\').join('/')
}

export function relativeSite(site: string | null, root: string): string | null {
  if (!site) return null
  const m = /^(.*):(\d+):(\d+)$/.exec(site)
  if (!m || !isAbsolute(m[1]!)) return site
  const rel = relative(root, m[1]!)
  return rel.startsWith('..') || isAbsolute(rel) ? toPosix(site) : `${toPosix(rel)}:${m[2]}:${m[3]}`
}

export function toReportLeak(leak: Leak, file: string, test: string | null, root: string): ReportLeak {
  return {
    file: toPosix(file),
    test,
    kind: leak.kind,
    description: leak.description,
    site: relativeSite(leak.site, root),
    phase: test === null ? 'file' : 'test',
    hint: leak.hint,
    details: leak.details,
    ...(leak.terminated ? { terminated: true } : {}),
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a report. */
export function writeReport(report: Report, outputFile: string, root: string): string {
  const path = resolve(root, outputFile)
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(report, null, 2)}\n`)
  renameSync(tmp, path)
  return path
}
