// Benchmark: the cost of leaving leakguard on, on one generated suite of promise-heavy tests.
//  1. Side by side (the figure that counts): leakguard off and on start together, one test worker
//     each, round after round; the ratio within a round cancels what a shared machine does to
//     both runs. Control rounds run off against off: the ratio that "no change" gives.
//     Further rounds run leakguard through its setup file's hooks, which is what a project with a
//     test runner of its own gets, against off.
//  2. One at a time in the default pool, as a user runs it (noisier: shown with its control).
//  3. Vitest's --detectAsyncLeaks on the first files, against leakguard off.
//
//   npm run bench                      (2,000 tests: 20 files x 100; 11 + 5 + 5 side by side, 3 one at a time)
//   node bench/detector.mjs --files 10 --tests 50 --rounds 3 --control-rounds 1 --hooks-rounds 1 --seq-rounds 0
//   BENCH_KEEP=1 node bench/detector.mjs ...   (keeps the generated copies in the temporary folder)
import { parseArgs } from 'node:util'
import { PROBE, createWorkspace, median, ratios, runner, secs, spread, suiteFile, vitestConfig, wholeNumbers } from './lib.mjs'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '11' },
    'control-rounds': { type: 'string', default: '5' },
    'hooks-rounds': { type: 'string', default: '5' },
    'seq-rounds': { type: 'string', default: '3' },
    'async-rounds': { type: 'string', default: '1' },
    'async-files': { type: 'string', default: '2' },
    awaits: { type: 'string', default: '1000' },
  },
})
const n = wholeNumbers(values)
const FILES = n.files
const TESTS = n.tests
const ROUNDS = n.rounds
const CONTROL_ROUNDS = n['control-rounds']
const HOOKS_ROUNDS = n['hooks-rounds']
const SEQ_ROUNDS = n['seq-rounds']
const ASYNC_ROUNDS = n['async-rounds']
const AWAITS = n.awaits
const ASYNC_FILES = Math.min(n['async-files'], FILES)

// Identical copies of the suite, one per configuration: off, on, a second off for the control, and
// on through the setup file (a project with a test runner of its own: the plugin keeps it and
// brackets with the setup file).
const off = vitestConfig({ plugin: false })
const workspace = createWorkspace('leakguard-bench-', {
  off,
  on: vitestConfig({ plugin: true }),
  control: off,
  hooks: vitestConfig({ plugin: true, test: "runner: './own-runner.js'" }),
})
const ROOTS = workspace.roots
workspace.write('own-runner.js', "import { TestRunner } from 'vitest'\nexport default class OwnRunner extends TestRunner {}\n", ['hooks'])
// The probe, in every copy: where leakguard is on, the report must name it (leakguard reports
// without failing there), or the run did not measure leakguard.
workspace.write('test/probe.test.js', PROBE)
for (let f = 0; f < FILES; f++) workspace.write(`test/suite-${f}.test.js`, suiteFile(f, { tests: TESTS, awaits: AWAITS }))
const { run, together } = runner(workspace)

try {
  console.log(`suite: ${FILES} files x ${TESTS} tests = ${FILES * TESTS} tests, ${AWAITS} awaits each`)
  // Warm-up (Vite's caches, the file system), and a check that leakguard checked every test where
  // it is on, and nowhere else.
  for (const copy of Object.keys(ROOTS)) {
    await run(copy)
    const found = workspace.reportSummary(copy)
    const expected = copy === 'on' || copy === 'hooks' ? `${FILES * TESTS + 1} tests checked, leaks: test/probe.test.js timer` : 'no report'
    if (found !== expected) {
      console.error(`bench: the "${copy}" copy should give "${expected}"; it gave "${found}"`)
      process.exit(1)
    }
  }

  // 1. Side by side: leakguard off and on run at the same moment, one test worker each, so both
  //    see the same machine; the ratio within a round cancels what a shared machine does to both.
  //    The control rounds run the off copy against another off copy: the ratio "no change" gives.
  const one = ['--maxWorkers=1']
  const pairs = { on: [], control: [], hooks: [] }
  for (let r = 0; r < ROUNDS; r++) pairs.on.push(await together('off', 'on', r, one))
  for (let r = 0; r < CONTROL_ROUNDS; r++) pairs.control.push(await together('off', 'control', r, one))
  for (let r = 0; r < HOOKS_ROUNDS; r++) pairs.hooks.push(await together('off', 'hooks', r, one))
  /** Median ratio against off within each round, CPU and wall. */
  const sideBySide = Object.fromEntries(
    Object.entries(pairs).map(([key, list]) => [key, list.length ? { cpu: median(ratios(list, 'cpu')), wall: median(ratios(list, 'wall')) } : null]),
  )
  console.log(`\nside by side with leakguard off, one worker each (rounds: ${ROUNDS} on, ${CONTROL_ROUNDS} control, ${HOOKS_ROUNDS} setup file)`)
  const LABELS = { on: 'leakguard on', control: 'control (off)', hooks: 'on, setup file' }
  for (const [key, list] of Object.entries(pairs)) {
    if (!sideBySide[key]) continue
    const { cpu, wall } = sideBySide[key]
    console.log(
      `${LABELS[key].padEnd(14)} CPU ${cpu.toFixed(3)}x (rounds ${spread(ratios(list, 'cpu'))})   wall ${wall.toFixed(3)}x (rounds ${spread(ratios(list, 'wall'))})   off median ${secs(median(list.map(([b]) => b.wall)))} s`,
    )
  }

  // 2. As a user runs it: the default pool, one configuration at a time. On a shared machine
  //    the time of identical runs varies by several percent: the control shows how much.
  const seq = { off: [], on: [], control: [] }
  const ORDERS = [['off', 'on', 'control'], ['on', 'control', 'off'], ['control', 'off', 'on']]
  for (let r = 0; r < SEQ_ROUNDS; r++) {
    for (const copy of ORDERS[r % 3]) seq[copy].push(await run(copy))
  }
  if (SEQ_ROUNDS > 0) {
    console.log(`\none at a time, default pool (${SEQ_ROUNDS} rounds)`)
    for (const copy of ['off', 'on', 'control']) {
      const walls = seq[copy].map((x) => x.wall)
      const cpus = seq[copy].map((x) => x.cpu)
      console.log(
        `${(copy === 'control' ? 'control (off)' : `leakguard ${copy}`).padEnd(14)} wall median ${secs(median(walls))} s (${(median(walls) / median(seq.off.map((x) => x.wall))).toFixed(3)}x)   CPU median ${secs(median(cpus))} s (${(median(cpus) / median(seq.off.map((x) => x.cpu))).toFixed(3)}x)   runs ${walls.map(secs).join(' ')}`,
      )
    }
  }

  // 3. --detectAsyncLeaks is too slow for the whole suite: the first few files, against
  //    leakguard off on the same files.
  if (ASYNC_ROUNDS > 0 && ASYNC_FILES > 0) {
    const subset = Array.from({ length: ASYNC_FILES }, (_, i) => `test/suite-${i}.test.js`)
    const base = []
    const on = []
    const async = []
    for (let r = 0; r < ASYNC_ROUNDS; r++) {
      base.push(await run('off', { files: subset }))
      on.push(await run('on', { files: subset }))
      async.push(await run('off', { files: subset, args: ['--detectAsyncLeaks'], mayFail: true }))
    }
    const w = (xs) => median(xs.map((x) => x.wall))
    console.log(`\nfirst ${ASYNC_FILES} files (${ASYNC_FILES * TESTS} tests), default pool`)
    console.log(`leakguard off       ${secs(w(base))} s`)
    console.log(`leakguard on        ${secs(w(on))} s (${(w(on) / w(base)).toFixed(3)}x)`)
    console.log(`--detectAsyncLeaks  ${secs(w(async))} s (${(w(async) / w(base)).toFixed(1)}x)`)
  }

  const { on, control, hooks } = sideBySide
  if (on) console.log(`\nleakguard on / off = ${on.cpu.toFixed(3)}x CPU, ${on.wall.toFixed(3)}x wall, side by side (target ≤ 1.05x)`)
  if (control) console.log(`control off / off  = ${control.cpu.toFixed(3)}x CPU, ${control.wall.toFixed(3)}x wall`)
  if (hooks) {
    console.log(`with a runner of the project's own (setup file's hooks) / off = ${hooks.cpu.toFixed(3)}x CPU, ${hooks.wall.toFixed(3)}x wall`)
  }
} finally {
  workspace.remove()
}
