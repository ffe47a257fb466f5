// Benchmark: what the settle costs on a suite where a few tests leak. A leaking test is re-checked
// until its leftovers are released or `settleMs` (100 ms) has passed: nothing is judged early, so
// each leaking test costs up to `settleMs`; a clean test costs no wait at all. Side by side, one
// test worker each: leakguard off, on, and on with `settleMs: 0` (no wait: the settle's share).
//
//   npm run bench                       (2,000 tests: 20 files x 100, 3 % of them leaking; 5 rounds)
//   node bench/settle.mjs --files 10 --tests 50 --leaking 3 --rounds 3
import { PROBE, createWorkspace, median, ratios, runner, secs, spread, suiteFile, vitestConfig, wholeNumbers } from './lib.mjs'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    awaits: { type: 'string', default: '1000' },
    leaking: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
  },
})
const n = wholeNumbers(values)
const perFile = Math.round((n.tests * n.leaking) / 100)
const leaks = perFile * n.files

const workspace = createWorkspace('leakguard-bench-settle-', {
  off: vitestConfig({ plugin: false }),
  on: vitestConfig({ plugin: true }),
  nowait: vitestConfig({ plugin: true, options: 'settleMs: 0' }),
})
const { run, together } = runner(workspace)
workspace.write('test/probe.test.js', PROBE)
for (let f = 0; f < n.files; f++) {
  // The leaking tests sit among the clean ones: each leaves a 60 s timer that nothing releases.
  const leaking = Array.from({ length: perFile }, (_, i) => `test('leaks ${i}', () => { setTimeout(() => {}, 60_000) })`)
  workspace.write(`test/suite-${f}.test.js`, suiteFile(f, { tests: n.tests, awaits: n.awaits }) + leaking.join('\n') + '\n')
}

try {
  const EXPECTED = leaks + 1
  for (const copy of ['off', 'on', 'nowait']) {
    await run(copy)
    const found = workspace.reportSummary(copy)
    // `N tests checked, leaks: file kind, file kind, …`
    const count = found === 'no report' ? 0 : found.split(', ').length - 1
    if ((copy === 'off') !== (found === 'no report') || (copy !== 'off' && count !== EXPECTED)) {
      console.error(`bench: the "${copy}" copy should report ${copy === 'off' ? 'nothing' : `${EXPECTED} leaks`}; it gave "${found}"`)
      process.exit(1)
    }
  }
  const one = ['--maxWorkers=1']
  const pairs = { on: [], nowait: [] }
  for (let r = 0; r < n.rounds; r++) {
    pairs.on.push(await together('off', 'on', r, one))
    pairs.nowait.push(await together('nowait', 'on', r, one))
  }
  const total = n.files * (n.tests + perFile) + 1
  console.log(`suite: ${n.files} files x ${n.tests} promise-heavy tests + ${perFile} leaking tests each (${leaks + 1} of ${total} tests leak, ${((100 * (leaks + 1)) / total).toFixed(1)} %)`)
  console.log(`side by side, one worker each, ${n.rounds} rounds`)
  const line = (label, list) =>
    console.log(`${label.padEnd(28)} wall ${median(ratios(list, 'wall')).toFixed(3)}x (rounds ${spread(ratios(list, 'wall'))})   CPU ${median(ratios(list, 'cpu')).toFixed(3)}x`)
  line('on / off', pairs.on)
  line('on / on with settleMs: 0', pairs.nowait)
  const perLeak = pairs.nowait.map(([nowait, on]) => (on.wall - nowait.wall) / (leaks + 1))
  console.log(`the settle: ${median(perLeak).toFixed(0)} ms per leaking test (rounds ${Math.min(...perLeak).toFixed(0)} – ${Math.max(...perLeak).toFixed(0)} ms; settleMs is 100), off median ${secs(median(pairs.on.map(([b]) => b.wall)))} s`)
} finally {
  workspace.remove()
}
