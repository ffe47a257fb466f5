// Benchmark: the cost of leaving leakguard on. Runs one generated suite of promise-heavy tests
// three ways in the same run — leakguard off, leakguard on, Vitest's --detectAsyncLeaks — and
// prints the median wall times and their ratios against "off".
//
//   npm run bench                      (2,000 tests: 20 files x 100, 5 rounds)
//   node bench/detector.mjs --files 10 --tests 50 --rounds 3
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    'async-rounds': { type: 'string', default: '1' },
    'async-files': { type: 'string', default: '2' },
    awaits: { type: 'string', default: '1000' },
  },
})
const FILES = Number(values.files)
const TESTS = Number(values.tests)
const ROUNDS = Number(values.rounds)
const ASYNC_ROUNDS = Number(values['async-rounds'])
const AWAITS = Number(values.awaits)
const ASYNC_FILES = Math.min(Number(values['async-files']), FILES)
for (const [name, v] of Object.entries({ FILES, TESTS, ROUNDS, ASYNC_ROUNDS, ASYNC_FILES, AWAITS })) {
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
mkdirSync(join(dir, 'test'))
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
  writeFileSync(join(dir, 'test', `suite-${f}.test.js`), lines.join('\n'))
}
writeFileSync(
  join(dir, 'off.config.mjs'),
  "import { defineConfig } from 'vitest/config'\nexport default defineConfig({ test: { include: ['test/**/*.test.js'] } })\n",
)
writeFileSync(
  join(dir, 'on.config.mjs'),
  `import { defineConfig } from 'vitest/config'\nimport { leakguard } from 'leakguard/vitest'\nexport default defineConfig({ plugins: [leakguard()], test: { include: ['test/**/*.test.js'] } })\n`,
)

const vitestBin = join(dir, 'node_modules', 'vitest', 'vitest.mjs')
const MODES = {
  off: ['--config', 'off.config.mjs'],
  on: ['--config', 'on.config.mjs'],
  detectAsyncLeaks: ['--config', 'off.config.mjs', '--detectAsyncLeaks'],
}

// --detectAsyncLeaks is too slow to run on the whole suite in every round: it is compared on
// the first few files, against leakguard off on the same files.
const subset = Array.from({ length: ASYNC_FILES }, (_, i) => `test/suite-${i}.test.js`)

// CPU time of the whole process tree (Vitest and its workers) is far steadier than wall time on a
// shared machine; GNU time reports it where installed.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null
const cpu = { off: [], on: [], subsetOff: [], subsetOn: [], detectAsyncLeaks: [] }

function once(mode, files = [], cpuKey = null) {
  const start = process.hrtime.bigint()
  const args = [vitestBin, 'run', '--reporter=dot', ...MODES[mode], ...files]
  const r = spawnSync(TIME ?? process.execPath, TIME ? ['-f', 'LEAKGUARD_CPU %U %S', process.execPath, ...args] : args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', FORCE_COLOR: '0' },
  })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  const used = /LEAKGUARD_CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '')
  if (used && cpuKey) cpu[cpuKey].push((Number(used[1]) + Number(used[2])) * 1000)
  // --detectAsyncLeaks reports (and may fail on) Vitest's own internals; only the time counts.
  if (r.status !== 0 && mode !== 'detectAsyncLeaks') {
    console.error(`bench: the ${mode} run failed:\n${r.stdout}\n${r.stderr}`)
    process.exit(1)
  }
  return ms
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

try {
  console.log(`suite: ${FILES} files x ${TESTS} tests = ${FILES * TESTS} tests, ${AWAITS} awaits each; ${ROUNDS} rounds`)
  once('off') // warm-up: Vite's caches, the file system
  const times = { off: [], on: [], subsetOff: [], subsetOn: [], detectAsyncLeaks: [] }
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved, alternating order, so drift on a shared machine hits both sides alike.
    const order = r % 2 ? ['on', 'off'] : ['off', 'on']
    for (const mode of order) times[mode].push(once(mode, [], mode))
  }
  for (let r = 0; r < ASYNC_ROUNDS && ASYNC_FILES > 0; r++) {
    times.subsetOff.push(once('off', subset, 'subsetOff'))
    times.subsetOn.push(once('on', subset, 'subsetOn'))
    times.detectAsyncLeaks.push(once('detectAsyncLeaks', subset, 'detectAsyncLeaks'))
  }
  const row = (name, xs, base) =>
    `${name.padEnd(20)} median ${(median(xs) / 1000).toFixed(2).padStart(7)} s   ratio ${(median(xs) / median(base)).toFixed(3)}x   runs ${xs.map((x) => (x / 1000).toFixed(2)).join(' ')}`
  console.log(`\nwhole suite (${FILES * TESTS} tests)`)
  console.log(row('leakguard off', times.off, times.off))
  console.log(row('leakguard on', times.on, times.off))
  if (times.detectAsyncLeaks.length) {
    console.log(`\nfirst ${ASYNC_FILES} files (${ASYNC_FILES * TESTS} tests)`)
    console.log(row('leakguard off', times.subsetOff, times.subsetOff))
    console.log(row('leakguard on', times.subsetOn, times.subsetOff))
    console.log(row('--detectAsyncLeaks', times.detectAsyncLeaks, times.subsetOff))
  }
  if (cpu.off.length) {
    console.log('\nCPU time of Vitest and its workers (user + sys)')
    console.log(row('leakguard off', cpu.off, cpu.off))
    console.log(row('leakguard on', cpu.on, cpu.off))
    if (cpu.detectAsyncLeaks.length) console.log(row('--detectAsyncLeaks', cpu.detectAsyncLeaks, cpu.subsetOff))
  }
  console.log(`\nleakguard on / off = ${(median(times.on) / median(times.off)).toFixed(3)}x wall (target ≤ 1.05x)`)
  if (cpu.off.length) console.log(`leakguard on / off = ${(median(cpu.on) / median(cpu.off)).toFixed(3)}x CPU`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
