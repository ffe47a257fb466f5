// Benchmark: leakguard under node:test. The same promise-heavy suite as bench/detector.mjs (2,000
// tests in 20 files), run by `node --test` with and without `--import leakguard/node-test`, side
// by side (the first to start alternating by round), with an off/off control. Before timing, a
// check that leakguard armed where it is on: the probe's leaked timer must be in the report, and
// every test checked.
//
//   npm run bench                       (20 files x 100 tests, 1000 awaits each; 7 + 3 rounds)
//   node bench/node-test.mjs --files 10 --tests 50 --rounds 3 --control-rounds 1
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createWorkspace, median, ratios, secs, spread, wholeNumbers } from './lib.mjs'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    awaits: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '7' },
    'control-rounds': { type: 'string', default: '3' },
  },
})
const n = wholeNumbers(values)
const COPIES = ['off', 'on', 'control']
const workspace = createWorkspace('leakguard-bench-node-test-', Object.fromEntries(COPIES.map((c) => [c, ''])))
// Reports only: the probe must not fail the run.
writeFileSync(join(workspace.roots.on, 'leakguard.config.json'), '{ "failOnLeak": false }\n')

function suiteFile(index) {
  const half = n.awaits / 2
  const lines = [
    "import { describe, test } from 'node:test'",
    "import assert from 'node:assert/strict'",
    'async function step(i) { await null; return i + 1 }',
    'async function chain(n) { let x = 0; for (let i = 0; i < n; i++) x = await step(x); return x }',
    `describe('file ${index}', () => {`,
  ]
  for (let t = 0; t < n.tests; t++) {
    lines.push(`  test('test ${t}', async () => {`, `    assert.deepEqual(await Promise.all([chain(${half}), chain(${half})]), [${half}, ${half}])`, '  })')
  }
  lines.push('})', '')
  return lines.join('\n')
}
const files = []
for (let f = 0; f < n.files; f++) {
  files.push(`test/suite-${f}.test.mjs`)
  workspace.write(files.at(-1), suiteFile(f))
}
files.push('test/probe.test.mjs')
workspace.write(files.at(-1), "import { test } from 'node:test'\ntest('probe', () => { setTimeout(() => {}, 60_000).unref() })\n")

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null
/** One `node --test` run of a copy: wall and CPU milliseconds. */
function run(copy) {
  const argv = [...(copy === 'on' ? ['--import', 'leakguard/node-test'] : []), '--test', '--test-reporter=dot', ...files]
  return new Promise((resolve) => {
    const start = process.hrtime.bigint()
    const child = spawn(TIME ?? process.execPath, TIME ? ['-f', 'LEAKGUARD_CPU %U %S', process.execPath, ...argv] : argv, {
      cwd: workspace.roots[copy],
      env: { ...process.env, FORCE_COLOR: '0' },
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e6
      if (code !== 0) {
        console.error(`bench: a run of the "${copy}" copy failed:\n${out}`)
        process.exit(1)
      }
      const used = /LEAKGUARD_CPU ([\d.]+) ([\d.]+)/.exec(out)
      resolve({ wall, cpu: used ? (Number(used[1]) + Number(used[2])) * 1000 : NaN })
    })
  })
}
async function together(a, b, round) {
  const order = round % 2 ? [a, b] : [b, a]
  const [first, second] = await Promise.all(order.map((copy) => run(copy)))
  return round % 2 ? [first, second] : [second, first]
}

try {
  // Warm-up, and the check that leakguard checked every test where it is on (the probe's timer
  // is unref'd, so it counts only with unrefTimers; the report must still list every test).
  const expected = { off: 'no report', control: 'no report', on: `${n.files * n.tests + 1} tests checked, leaks: ` }
  writeFileSync(join(workspace.roots.on, 'leakguard.config.json'), '{ "failOnLeak": false, "unrefTimers": true }\n')
  await run('on')
  const probed = workspace.reportSummary('on')
  if (probed !== `${n.files * n.tests + 1} tests checked, leaks: test/probe.test.mjs timer`) {
    console.error(`bench: with leakguard on, the probe's timer should be reported; the report says "${probed}"`)
    process.exit(1)
  }
  writeFileSync(join(workspace.roots.on, 'leakguard.config.json'), '{ "failOnLeak": false }\n')
  for (const copy of COPIES) {
    await run(copy)
    const found = workspace.reportSummary(copy)
    if (found !== expected[copy]) {
      console.error(`bench: the "${copy}" copy should give "${expected[copy]}"; it gave "${found}"`)
      process.exit(1)
    }
  }
  const pairs = { on: [], control: [] }
  for (let r = 0; r < n.rounds; r++) pairs.on.push(await together('off', 'on', r))
  for (let r = 0; r < n['control-rounds']; r++) pairs.control.push(await together('off', 'control', r))
  console.log(`node:test ${process.versions.node}: ${n.files} files x ${n.tests} tests (${n.awaits} awaits each) + a probe, side by side with leakguard off`)
  for (const [key, label] of [['on', 'leakguard on'], ['control', 'control (off)']]) {
    const list = pairs[key]
    if (!list.length) continue
    console.log(
      `${label.padEnd(14)} CPU ${median(ratios(list, 'cpu')).toFixed(3)}x (rounds ${spread(ratios(list, 'cpu'))})   wall ${median(ratios(list, 'wall')).toFixed(3)}x (rounds ${spread(ratios(list, 'wall'))})   off median ${secs(median(list.map(([b]) => b.wall)))} s`,
    )
  }
  console.log(`(target: leakguard on / off ≤ 1.05x wall)`)
} finally {
  workspace.remove()
}
