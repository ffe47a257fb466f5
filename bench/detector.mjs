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
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
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
const FILES = Number(values.files)
const TESTS = Number(values.tests)
const ROUNDS = Number(values.rounds)
const CONTROL_ROUNDS = Number(values['control-rounds'])
const HOOKS_ROUNDS = Number(values['hooks-rounds'])
const SEQ_ROUNDS = Number(values['seq-rounds'])
const ASYNC_ROUNDS = Number(values['async-rounds'])
const AWAITS = Number(values.awaits)
const ASYNC_FILES = Math.min(Number(values['async-files']), FILES)
for (const [name, v] of Object.entries({ FILES, TESTS, ROUNDS, CONTROL_ROUNDS, HOOKS_ROUNDS, SEQ_ROUNDS, ASYNC_ROUNDS, ASYNC_FILES, AWAITS })) {
  if (!Number.isInteger(v) || v < 0) {
    console.error(`bench: --${name.toLowerCase().replace('_', '-')} must be a whole number`)
    process.exit(2)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'leakguard-bench-'))
// leakguard as a user has it: a copy in node_modules, imported by name. (Imported by path, Vite's
// config loader would bundle all of dist into the config on every run; a package it leaves alone.)
mkdirSync(join(dir, 'node_modules'))
for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
  symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry), 'dir')
}
mkdirSync(join(dir, 'node_modules', 'leakguard'))
cpSync(join(ROOT, 'package.json'), join(dir, 'node_modules', 'leakguard', 'package.json'))
cpSync(join(ROOT, 'dist'), join(dir, 'node_modules', 'leakguard', 'dist'), { recursive: true })
// Identical copies of the suite, one per configuration (off, on, a second off for the control, and
// on through the setup file), each with its own caches, so that two can run at the same time.
const CONFIG = {
  off: "import { defineConfig } from 'vitest/config'\nexport default defineConfig({ cacheDir: '.cache', test: { include: ['test/**/*.test.js'], reporters: ['dot'] } })\n",
  on: "import { defineConfig } from 'vitest/config'\nimport { leakguard } from 'leakguard/vitest'\nexport default defineConfig({ cacheDir: '.cache', plugins: [leakguard({ failOnLeak: false })], test: { include: ['test/**/*.test.js'], reporters: ['dot'] } })\n",
  // A project with a test runner of its own: the plugin keeps it and brackets with the setup file.
  hooks: "import { defineConfig } from 'vitest/config'\nimport { leakguard } from 'leakguard/vitest'\nexport default defineConfig({ cacheDir: '.cache', plugins: [leakguard({ failOnLeak: false })], test: { include: ['test/**/*.test.js'], reporters: ['dot'], runner: './own-runner.js' } })\n",
}
const ROOTS = { off: join(dir, 'off'), on: join(dir, 'on'), control: join(dir, 'control'), hooks: join(dir, 'hooks') }
for (const [name, root] of Object.entries(ROOTS)) {
  mkdirSync(join(root, 'test'), { recursive: true })
  symlinkSync(join(dir, 'node_modules'), join(root, 'node_modules'), 'dir')
  writeFileSync(join(root, 'vitest.config.mjs'), CONFIG[name === 'control' ? 'off' : name])
}
writeFileSync(join(ROOTS.hooks, 'own-runner.js'), "import { TestRunner } from 'vitest'\nexport default class OwnRunner extends TestRunner {}\n")
// The probe: one test that leaks a timer, in every copy. Where leakguard is on, the report must
// name it (leakguard reports without failing there), or the run did not measure leakguard.
for (const root of Object.values(ROOTS)) {
  writeFileSync(join(root, 'test', 'probe.test.js'), "import { test } from 'vitest'\ntest('probe', () => { setTimeout(() => {}, 60_000) })\n")
}
for (let f = 0; f < FILES; f++) {
  const lines = [
    "import { describe, expect, test } from 'vitest'",
    'async function step(i) { await null; return i + 1 }',
    'async function chain(n) { let x = 0; for (let i = 0; i < n; i++) x = await step(x); return x }',
    `describe('file ${f}', () => {`,
  ]
  for (let t = 0; t < TESTS; t++) {
    lines.push(
      `  test('test ${t}', async () => {`,
      `    const results = await Promise.all([chain(${AWAITS / 2}), chain(${AWAITS / 2})])`,
      `    expect(results).toEqual([${AWAITS / 2}, ${AWAITS / 2}])`,
      '  })',
    )
  }
  lines.push('})', '')
  for (const root of Object.values(ROOTS)) writeFileSync(join(root, 'test', `suite-${f}.test.js`), lines.join('\n'))
}

const vitestBin = join(dir, 'node_modules', 'vitest', 'vitest.mjs')
// CPU time of the whole process tree (Vitest and its workers), from GNU time where installed.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

/** One Vitest run of a copy of the suite: wall and CPU milliseconds. */
function run(copy, { args = [], files = [], mayFail = false } = {}) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint()
    // The reporter is set in the config: one on the command line would replace leakguard's too.
    const argv = [vitestBin, 'run', ...args, ...files]
    const child = spawn(TIME ?? process.execPath, TIME ? ['-f', 'LEAKGUARD_CPU %U %S', process.execPath, ...argv] : argv, {
      cwd: ROOTS[copy],
      env: { ...process.env, CI: '1', FORCE_COLOR: '0' },
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e6
      const used = /LEAKGUARD_CPU ([\d.]+) ([\d.]+)/.exec(out)
      // --detectAsyncLeaks reports (and may fail on) Vitest's own internals; only the time counts.
      if (code !== 0 && !mayFail) {
        console.error(`bench: a run of the "${copy}" copy failed:\n${out}`)
        process.exit(1)
      }
      resolve({ wall, cpu: used ? (Number(used[1]) + Number(used[2])) * 1000 : NaN })
    })
  })
}

/** Two runs started together, the first to start alternating by round; returns [a, b]. */
async function together(a, b, round, args) {
  const order = round % 2 ? [a, b] : [b, a]
  const [first, second] = await Promise.all(order.map((copy) => run(copy, { args })))
  return round % 2 ? [first, second] : [second, first]
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const spread = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return `${s[0].toFixed(3)}x – ${s[s.length - 1].toFixed(3)}x`
}
const secs = (ms) => (ms / 1000).toFixed(2)

try {
  console.log(`suite: ${FILES} files x ${TESTS} tests = ${FILES * TESTS} tests, ${AWAITS} awaits each`)
  // Warm-up (Vite's caches, the file system), and a check that leakguard checked every test where
  // it is on, and nowhere else.
  for (const copy of Object.keys(ROOTS)) {
    await run(copy)
    const reportFile = join(ROOTS[copy], '.leakguard', 'report.json')
    const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : null
    const found = report ? `${report.totals.testsChecked} tests checked, leaks: ${report.leaks.map((l) => `${l.file} ${l.kind}`).join(', ')}` : 'no report'
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
  const ratios = (list, key) => list.map(([base, x]) => x[key] / base[key])
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
  if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
}
