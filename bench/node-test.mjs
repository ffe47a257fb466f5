// Benchmark: leakguard under node:test. The same promise-heavy suite as bench/detector.mjs (2,000
// tests in 20 files), run by `node --test` with and without `--import leakguard/node-test`, side
// by side (the first to start alternating by round), with an off/off control. Before timing, a
// check that leakguard armed where it is on: the probe's leaked timer must be in the report, and
// every test checked.
//
//   npm run bench                       (20 files x 100 tests, 1000 awaits each; 7 + 3 rounds)
//   node bench/node-test.mjs --files 10 --tests 50 --rounds 3 --control-rounds 1
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkArmed, createWorkspace, printRatios, sideBySide, timedRun, wholeNumbers } from './lib.mjs'

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

/** One `node --test` run of a copy: wall and CPU milliseconds. */
const run = (copy) =>
  timedRun([...(copy === 'on' ? ['--import', 'leakguard/node-test'] : []), '--test', '--test-reporter=dot', ...files], workspace.roots[copy], { label: `the "${copy}" copy` })

try {
  await checkArmed(workspace, run, { copies: COPIES, tests: n.files * n.tests + 1, probe: 'test/probe.test.mjs' })
  const pairs = { on: [], control: [] }
  for (let r = 0; r < n.rounds; r++) pairs.on.push(await sideBySide(run, 'off', 'on', r))
  for (let r = 0; r < n['control-rounds']; r++) pairs.control.push(await sideBySide(run, 'off', 'control', r))
  console.log(`node:test ${process.versions.node}: ${n.files} files x ${n.tests} tests (${n.awaits} awaits each) + a probe, side by side with leakguard off`)
  printRatios([['leakguard on', pairs.on], ['control (off)', pairs.control]])
  console.log(`(target: leakguard on / off ≤ 1.05x wall)`)
} finally {
  workspace.remove()
}
