// Terminal rendering of a report: leaks grouped by file, then test, each with a code frame at its
// creation site and the fix hint; then one summary line. Colours follow Vitest's rules.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, resolve } from 'node:path'
import { parseSite, type Report, type ReportLeak } from './schema.js'

export interface Colors {
  readonly enabled: boolean
  bold(s: string): string
  dim(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
  gray(s: string): string
  inverse(s: string): string
}

function style(enabled: boolean, open: number, close: number): (s: string) => string {
  return enabled ? (s) => `\x1b[${open}m${s}\x1b[${close}m` : (s) => s
}

export function createColors(enabled: boolean): Colors {
  return {
    enabled,
    bold: style(enabled, 1, 22),
    dim: style(enabled, 2, 22),
    red: style(enabled, 31, 39),
    yellow: style(enabled, 33, 39),
    cyan: style(enabled, 36, 39),
    gray: style(enabled, 90, 39),
    inverse: style(enabled, 7, 27),
  }
}

let agentCache: boolean | undefined
/** Vitest turns colours off under a coding agent (std-env's `isAgent`); we ask the same module. */
function underAgent(): boolean {
  if (agentCache !== undefined) return agentCache
  agentCache = false
  try {
    const fromVitest = createRequire(createRequire(import.meta.url).resolve('vitest/package.json'))
    const stdEnv = fromVitest('std-env') as { isAgent?: unknown }
    agentCache = stdEnv.isAgent === true
  } catch {
    // std-env is Vitest's dependency, not ours: without it, no agent detection.
  }
  return agentCache
}

/**
 * The decision Vitest makes (tinyrainbow's, plus Vitest's agent mode): off with `NO_COLOR` or
 * `--no-color`; on with `FORCE_COLOR` or `--color`; off under a coding agent; otherwise on unless
 * `TERM=dumb` or `FORCE_TTY=false` (Vitest does not look at whether stdout is a TTY), and on in CI.
 */
export function colorsEnabled(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv,
  agent: boolean = underAgent(),
): boolean {
  if ('NO_COLOR' in env || argv.includes('--no-color')) return false
  if ('FORCE_COLOR' in env || argv.includes('--color')) return true
  if (agent) return false
  return process.platform === 'win32' || (env.FORCE_TTY !== 'false' && env.TERM !== 'dumb') || 'CI' in env
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** Vitest's summary label: right-aligned in 11 columns, dim. */
function label(c: Colors, text: string): string {
  return c.dim(`${text.padStart(11)} `)
}

function divider(c: Colors, text: string, width: number): string {
  const left = Math.max(3, Math.floor((width - text.length) / 2))
  const right = Math.max(3, width - text.length - left)
  return c.red(`${'⎯'.repeat(left)}${c.bold(c.inverse(text))}${'⎯'.repeat(right)}`)
}

/** ~3 lines around `line`, with a caret under `col`; null when the file cannot be read. */
export function codeFrame(file: string, line: number, col: number, c: Colors, read: (f: string) => string | null): string[] | null {
  const text = read(file)
  if (text === null) return null
  const lines = text.split(/\r?\n/)
  if (line < 1 || line > lines.length) return null
  const first = Math.max(1, line - 1)
  const last = Math.min(lines.length, line + 1)
  const width = String(last).length
  const out: string[] = []
  for (let n = first; n <= last; n++) {
    const raw = lines[n - 1]!.replace(/\t/g, '  ')
    const shown = raw.length > 160 ? `${raw.slice(0, 159)}…` : raw
    const gutter = `${String(n).padStart(width)}|`
    out.push(n === line ? `${c.red('>')} ${gutter} ${shown}` : `  ${c.gray(gutter)} ${c.gray(shown)}`)
    if (n === line) {
      // Tabs before the column were widened to two spaces above; move the caret the same way.
      const before = lines[n - 1]!.slice(0, Math.max(0, col - 1))
      const caretAt = before.replace(/\t/g, '  ').length
      out.push(`  ${' '.repeat(width)}| ${' '.repeat(Math.min(caretAt, 160))}${c.red('^')}`)
    }
  }
  return out
}

export interface RenderOptions {
  readonly colors: Colors
  /** Vitest root: report paths are relative to it. */
  readonly root: string
  /** Where the report went, as shown to the user; null when it was not written. */
  readonly reportPath: string | null
  /** Width of the heading divider. @default 80 */
  readonly width?: number
  /** Reads a source file for the code frame; null when it cannot. */
  readonly read?: (file: string) => string | null
}

function defaultRead(): (file: string) => string | null {
  const cache = new Map<string, string | null>()
  return (file) => {
    if (!cache.has(file)) {
      try {
        cache.set(file, readFileSync(file, 'utf8'))
      } catch {
        cache.set(file, null)
      }
    }
    return cache.get(file)!
  }
}

function groupKey(leak: ReportLeak): string {
  return leak.project ? `[${leak.project}] ${leak.file}` : leak.file
}

/** The summary line: `Leaks  N in M tests (K files)`, or `Leaks  no leaks (N tests checked)`. */
export function summaryLine(report: Report, c: Colors, reportPath: string | null): string {
  const t = report.totals
  const where = reportPath ? c.dim(` · report: ${reportPath}`) : ''
  const shard =
    (report.shard ? c.dim(` (shard ${report.shard.index}/${report.shard.count})`) : '') +
    (report.interrupted ? c.dim(' (run interrupted)') : '')
  if (t.leaks === 0) return `${label(c, 'Leaks')} ${c.dim(`no leaks (${plural(t.testsChecked, 'test')} checked)`)}${shard}${where}`
  const text = `${t.leaks} in ${plural(t.testsLeaking, 'test')} (${plural(t.filesLeaking, 'file')})`
  return `${label(c, 'Leaks')} ${c.bold(c.red(text))}${shard}${where}`
}

/** The whole block printed after Vitest's summary. */
export function renderReport(report: Report, options: RenderOptions): string {
  const c = options.colors
  const read = options.read ?? defaultRead()
  const lines: string[] = []
  if (report.leaks.length > 0) {
    lines.push('', divider(c, ` Leaks ${report.leaks.length} `, options.width ?? 80), '')
    const byFile = new Map<string, ReportLeak[]>()
    for (const leak of report.leaks) {
      const key = groupKey(leak)
      byFile.set(key, [...(byFile.get(key) ?? []), leak])
    }
    for (const [file, leaks] of byFile) {
      lines.push(` ${c.bold(file)}`)
      const byTest = new Map<string | null, ReportLeak[]>()
      for (const leak of leaks) byTest.set(leak.test, [...(byTest.get(leak.test) ?? []), leak])
      for (const [test, testLeaks] of byTest) {
        lines.push(
          test === null
            ? `   ${c.dim('›')} ${c.dim('(file) module scope, describe callbacks, beforeAll/afterAll hooks')}`
            : `   ${c.dim('›')} ${test}`,
        )
        for (const leak of testLeaks) lines.push(...renderLeak(leak, c, options.root, read), '')
      }
    }
  }
  lines.push(summaryLine(report, c, options.reportPath))
  return lines.join('\n')
}

function renderLeak(leak: ReportLeak, c: Colors, root: string, read: (f: string) => string | null): string[] {
  const pad = '     '
  const out = [`${pad}${c.yellow(c.bold(leak.kind))}  ${leak.description}`]
  const site = parseSite(leak.site)
  if (leak.site === null) {
    out.push(`${pad}${c.cyan('❯')} ${c.dim('created at an unknown place')}`)
  } else {
    const fn = leak.siteFunction ? c.dim(` (${leak.siteFunction})`) : ''
    out.push(`${pad}${c.cyan('❯')} ${c.cyan(leak.site)}${fn}`)
    if (site) {
      const abs = isAbsolute(site.file) ? site.file : resolve(root, site.file)
      const frame = codeFrame(abs, site.line, site.col, c, read)
      if (frame) out.push(...frame.map((l) => `${pad}${l}`))
    }
  }
  if (leak.hint) out.push(`${pad}${c.dim('→')} ${leak.hint}`)
  if (leak.terminated) out.push(`${pad}${c.dim('leakguard terminated it after the test.')}`)
  return out
}
