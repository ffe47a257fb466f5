// The report as a table for people: one row per scenario (name, verdict, time, detail), then the totals and the wall
// time against the longest scenario.
import { formatMs } from './context.js'
import type { ScenarioReport } from './runner.js'

/**
 * Formats a report as plain text (no colours), ending with a newline.
 *
 * @example
 * process.stdout.write(formatTable(await runScenarios()))
 */
export function formatTable(report: ScenarioReport): string {
  const rows = report.results.map((r) => [r.name, r.verdict === 'fail' ? 'FAIL' : r.verdict, r.verdict === 'skip' ? '-' : formatMs(r.durationMs), r.detail])
  const header = ['scenario', 'verdict', 'time', 'detail']
  const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd()
  const ran = report.passed + report.failed
  const sum = report.results.reduce((total, r) => total + r.durationMs, 0)
  return [
    `leakguard scenarios: ${report.target}, ${ran} scenario${ran === 1 ? '' : 's'} in parallel`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `scenarios: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`,
    report.longest
      ? `wall time ${formatMs(report.durationMs)}; longest scenario ${report.longest.name} ${formatMs(report.longest.durationMs)} ` +
        `(wall/longest ${report.ratio?.toFixed(2)}); scenario times add up to ${formatMs(sum)}`
      : `wall time ${formatMs(report.durationMs)}; no scenario ran`,
    '',
  ].join('\n')
}
