// Benchmark: leakguard under Jest. The same promise-heavy suite as bench/detector.mjs (2,000 tests
// in 20 files), run by Jest with and without leakguard's setup file and reporter, side by side
// (the first to start alternating by round), with an off/off control; and Jest's own
// `--detectOpenHandles` on the same suite, for scale. Before timing, a check that leakguard armed
// where it is on: the probe's leaked timer must be in the report, and every test checked.
//
//   npm run bench                       (20 files x 100 tests, 1000 awaits each; 5 + 2 + 2 rounds)
//   node bench/jest.mjs --files 10 --tests 50 --rounds 3 --control-rounds 1 --handles-rounds 1
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { checkArmed, createWorkspace, printRatios, sideBySide, timedRun, wholeNumbers } from './lib.mjs'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    awaits: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    'control-rounds': { type: 'string', default: '2' },
    'handles-rounds': { type: 'string', default: '2' },
  },
})
const n = wholeNumbers(values)
const COPIES = ['off', 'on', 'control', 'handles']
const workspace = createWorkspace('leakguard-bench-jest-', Object.fromEntries(COPIES.map((c) => [c, ''])))
const config = (on) =>
  `module.exports = { testMatch: ['**/test/*.test.js'], reporters: [${on ? "'summary', 'leakguard/jest-reporter'" : "'summary'"}]${on ? ", setupFilesAfterEnv: ['leakguard/jest']" : ''}, maxWorkers: 1 }\n`
for (const copy of COPIES) writeFileSync(join(workspace.roots[copy], 'jest.config.js'), config(copy === 'on'))
writeFileSync(join(workspace.dir, 'package.json'), '{ "type": "commonjs" }\n')

function suiteFile(index) {
  const half = n.awaits / 2
  const lines = [
    'async function step(i) { await null; return i + 1 }',
    'async function chain(n) { let x = 0; for (let i = 0; i < n; i++) x = await step(x); return x }',
    `describe('file ${index}', () => {`,
  ]
  for (let t = 0; t < n.tests; t++) {
    lines.push(`  test('test ${t}', async () => {`, `    expect(await Promise.all([chain(${half}), chain(${half})])).toEqual([${half}, ${half}])`, '  })')
  }
  lines.push('})', '')
  return lines.join('\n')
}
for (let f = 0; f < n.files; f++) workspace.write(`test/suite-${f}.test.js`, suiteFile(f))
// Unref'd, so that a run without leakguard is not held open by it.
workspace.write('test/probe.test.js', "test('probe', () => { setTimeout(() => {}, 60_000).unref() })\n")

const JEST = join(workspace.dir, 'node_modules', 'jest', 'bin', 'jest.js')
/** One Jest run of a copy: wall and CPU milliseconds. */
const run = (copy) =>
  timedRun([JEST, '--ci', ...(copy === 'handles' ? ['--detectOpenHandles'] : [])], workspace.roots[copy], {
    label: `the "${copy}" copy`,
    // --detectOpenHandles may report Jest's own handles; only its time counts.
    mayFail: copy === 'handles',
  })

try {
  await checkArmed(workspace, run, { copies: COPIES, tests: n.files * n.tests + 1, probe: 'test/probe.test.js' })
  const pairs = { on: [], control: [], handles: [] }
  for (let r = 0; r < n.rounds; r++) pairs.on.push(await sideBySide(run, 'off', 'on', r))
  for (let r = 0; r < n['control-rounds']; r++) pairs.control.push(await sideBySide(run, 'off', 'control', r))
  for (let r = 0; r < n['handles-rounds']; r++) pairs.handles.push(await sideBySide(run, 'off', 'handles', r))
  const version = (await import(join(workspace.dir, 'node_modules', 'jest', 'package.json'), { with: { type: 'json' } })).default.version
  console.log(`Jest ${version} on Node ${process.versions.node}: ${n.files} files x ${n.tests} tests (${n.awaits} awaits each) + a probe, one worker, side by side with leakguard off`)
  printRatios([['leakguard on', pairs.on], ['control (off)', pairs.control], ['--detectOpenHandles', pairs.handles]])
  console.log(`(target: leakguard on / off ≤ 1.05x wall)`)
} finally {
  workspace.remove()
}
