// GitHub Actions output: one `::error` workflow command per leak, at its creation site, and a
// Markdown table for the job summary ($GITHUB_STEP_SUMMARY).
import { isAbsolute, relative, resolve } from 'node:path'
import { parseSite, type Report, type ReportLeak } from './schema.js'

/** Escapes the message of a workflow command (GitHub's `escapeData`). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/** Escapes a property value of a workflow command (GitHub's `escapeProperty`). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')
}

function toPosix(p: string): string {
  return p.split('\\').join('/')
}

/** A path GitHub can place on the diff: relative to the workspace when inside it. */
function workspacePath(file: string, root: string, workspace: string): string {
  const abs = isAbsolute(file) ? file : resolve(root, file)
  const rel = relative(workspace, abs)
  return rel.startsWith('..') || isAbsolute(rel) ? toPosix(abs) : toPosix(rel)
}

function leakTitle(leak: ReportLeak): string {
  return leak.test === null ? `leakguard: ${leak.kind} leaked by ${leak.file}` : `leakguard: ${leak.kind} leaked by "${leak.test}"`
}

/** One `::error` line per leak; at the creation site when known, else at the test file. */
export function annotations(report: Report, root: string, workspace: string): string[] {
  return report.leaks.map((leak) => {
    const site = parseSite(leak.site)
    const props = site
      ? [`file=${escapeProperty(workspacePath(site.file, root, workspace))}`, `line=${site.line}`, `col=${site.col}`]
      : [`file=${escapeProperty(workspacePath(leak.file, root, workspace))}`]
    props.push(`title=${escapeProperty(leakTitle(leak))}`)
    const where = leak.test === null ? `${leak.file} (module scope, describe callbacks or beforeAll/afterAll)` : `${leak.file} > ${leak.test}`
    const message = [`${leak.description}`, `Leaked by ${where}.`, leak.hint].filter(Boolean).join('\n')
    return `::error ${props.join(',')}::${escapeData(message)}`
  })
}

/** Escapes a table cell: pipes, and newlines which would end the row. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/</g, '&lt;')
}

function code(s: string): string {
  // Inside a code span a pipe still splits a GFM table cell; keep it escaped.
  return `\`${s.replace(/`/g, "'").replace(/\|/g, '\\|')}\``
}

/** The Markdown appended to `$GITHUB_STEP_SUMMARY`. */
export function stepSummary(report: Report): string {
  const t = report.totals
  if (t.leaks === 0) return `### leakguard: no leaks\n\n${t.testsChecked} tests checked.\n\n`
  const lines = [
    `### leakguard: ${t.leaks} leak${t.leaks === 1 ? '' : 's'} in ${t.testsLeaking} test${t.testsLeaking === 1 ? '' : 's'} (${t.filesLeaking} file${t.filesLeaking === 1 ? '' : 's'})`,
    '',
    '| File | Test | Kind | Leak | Created at | Fix |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const leak of report.leaks) {
    lines.push(
      `| ${code(leak.file)} | ${leak.test === null ? '_(file)_' : cell(leak.test)} | ${leak.kind} | ${cell(leak.description)} | ${leak.site ? code(leak.site) : '_unknown_'} | ${cell(leak.hint)} |`,
    )
  }
  lines.push('', '')
  return lines.join('\n')
}
