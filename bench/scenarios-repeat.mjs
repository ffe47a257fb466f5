// Runs the scenario suite (what `npm start` runs, after the build) N times in a row, each in a fresh process, and
// prints whether every run gave the same verdicts, the wall-time spread, and the wall time against the longest
// scenario measured alone. Usage: node bench/scenarios-repeat.mjs [--runs 20] [--solo 3] [-- <scenarios flags>]
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const BIN = fileURLToPath(new URL('../bin/leakguard.mjs', import.meta.url))
const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, solo: { type: 'string', default: '3' } },
  allowPositionals: true,
  strict: true,
})
const runs = Number(values.runs)
const solo = Number(values.solo)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(solo) || solo < 0) {
  console.error('bench/scenarios-repeat: --runs must be an integer >= 1 and --solo an integer >= 0.')
  process.exit(2)
}

/** One `leakguard scenarios --json` run in its own process: its report and its wall time seen from outside. */
async function suite(extra) {
  const began = performance.now()
  const child = spawn(process.execPath, [BIN, 'scenarios', '--json', ...positionals, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk))
  const [code] = await once(child, 'close')
  const wallMs = performance.now() - began
  if (code !== 0 && code !== 1) throw new Error(`leakguard scenarios exited with ${code}`)
  return { report: JSON.parse(out), wallMs }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { min: s[0], median: at(0.5), p90: at(0.9), max: s.at(-1) }
}
const ms = (x) => `${Math.round(x)} ms`

const verdictSets = new Map()
const internal = []
const external = []
const longestNames = new Map()
console.log(`scenarios-repeat: ${runs} runs of \`leakguard scenarios\`${positionals.length ? ` ${positionals.join(' ')}` : ''}`)
for (let i = 1; i <= runs; i++) {
  const { report, wallMs } = await suite([])
  const verdicts = report.results.map((r) => `${r.name}=${r.verdict}`).join(' ')
  verdictSets.set(verdicts, (verdictSets.get(verdicts) ?? 0) + 1)
  internal.push(report.durationMs)
  external.push(wallMs)
  longestNames.set(report.longest?.name, (longestNames.get(report.longest?.name) ?? 0) + 1)
  const failed = report.results.filter((r) => r.verdict === 'fail').map((r) => `${r.name}: ${r.detail}`)
  console.log(
    `run ${String(i).padStart(2)}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped; ` +
      `suite ${ms(report.durationMs)} (process ${ms(wallMs)}); longest ${report.longest?.name} ${ms(report.longest?.durationMs ?? 0)}` +
      (failed.length ? `\n        ${failed.join('\n        ')}` : ''),
  )
}

// The longest single scenario, measured alone: what the suite's wall time should stay close to.
const soloTimes = new Map()
if (solo > 0) {
  for (const name of [...longestNames.keys()].filter(Boolean)) {
    const times = []
    for (let i = 0; i < solo; i++) times.push((await suite(['--only', name])).report.durationMs)
    soloTimes.set(name, stats(times).median)
  }
}
const longestSolo = Math.max(0, ...soloTimes.values())
const suiteStats = stats(internal)
const processStats = stats(external)

console.log('')
console.log(
  verdictSets.size === 1
    ? `verdicts: identical in all ${runs} runs`
    : `verdicts: ${verdictSets.size} different outcomes over ${runs} runs:\n  ${[...verdictSets].map(([v, n]) => `${n}x ${v}`).join('\n  ')}`,
)
console.log(`suite wall time:   min ${ms(suiteStats.min)}, median ${ms(suiteStats.median)}, p90 ${ms(suiteStats.p90)}, max ${ms(suiteStats.max)}`)
console.log(`process wall time: min ${ms(processStats.min)}, median ${ms(processStats.median)}, p90 ${ms(processStats.p90)}, max ${ms(processStats.max)} (node start included, build not)`)
if (longestSolo > 0) {
  console.log(`longest scenario alone: ${[...soloTimes].map(([n, t]) => `${n} ${ms(t)}`).join(', ')} (median of ${solo})`)
  console.log(
    `ratio suite / longest alone: median ${(suiteStats.median / longestSolo).toFixed(2)}, max ${(suiteStats.max / longestSolo).toFixed(2)}` +
      `; process / longest alone: median ${(processStats.median / longestSolo).toFixed(2)}`,
  )
}
process.exitCode = verdictSets.size === 1 ? 0 : 1
