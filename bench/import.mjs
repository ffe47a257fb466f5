// Benchmark: what `import { allowLeaks, useServer } from 'leakguard'` costs in a test file.
//  1. The suite of detector.mjs (promise-heavy tests) where every test file imports leakguard:
//     leakguard off and on side by side, one test worker each, with an off/off control.
//  2. Per file: one-test files with the import against the same files without it, leakguard on in
//     both, side by side; the difference per file. And the import timed inside each test worker:
//     a module imported just before it and one just after it note the time (the files without the
//     import have the same two modules: their time is the baseline subtracted). For scale, the
//     same with a one-module package instead (get-port): what any package import costs there.
//
//   npm run bench                       (2,000 tests: 20 files x 100; 7 + 3 rounds; 20 one-test files, 11 rounds)
//   node bench/import.mjs --files 10 --tests 50 --rounds 3 --control-rounds 1 --import-files 10 --import-rounds 3
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { PROBE, createWorkspace, median, ratios, runner, secs, spread, suiteFile, vitestConfig, wholeNumbers } from './lib.mjs'

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20' },
    tests: { type: 'string', default: '100' },
    awaits: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '7' },
    'control-rounds': { type: 'string', default: '3' },
    'import-files': { type: 'string', default: '20' },
    'import-rounds': { type: 'string', default: '11' },
  },
})
const n = wholeNumbers(values)
const IMPORT = "import { allowLeaks, useServer } from 'leakguard'"
const USE = "if (typeof allowLeaks !== 'function' || typeof useServer !== 'function') throw new Error('leakguard did not load')"

const off = vitestConfig({ plugin: false })
const on = vitestConfig({ plugin: true })
const workspace = createWorkspace('leakguard-bench-import-', { off, on, control: off, bare: on, imported: on, floor: on })
const { run, together } = runner(workspace)
const SUITE = ['off', 'on', 'control']
const PER_FILE = ['bare', 'imported', 'floor']
const IMPORTS = { bare: [], imported: [IMPORT, USE], floor: ["import getPort from 'get-port'", "if (typeof getPort !== 'function') throw new Error('get-port did not load')"] }

// 1. The promise-heavy suite, every file importing leakguard (and the probe, which leakguard on must report).
workspace.write('test/probe.test.js', PROBE, SUITE)
for (let f = 0; f < n.files; f++) {
  workspace.write(`test/suite-${f}.test.js`, suiteFile(f, { tests: n.tests, awaits: n.awaits, header: [IMPORT, USE] }), SUITE)
}

// 2. One-test files, with and without the import, between the same two timing modules.
const timesFile = (copy) => join(workspace.dir, `${copy}.times`)
workspace.write('test/mark-start.js', 'globalThis.__leakguardBenchStart = performance.now()\n', PER_FILE)
for (const copy of PER_FILE) {
  workspace.write(
    'test/mark-end.js',
    `import { appendFileSync } from 'node:fs'\nappendFileSync(${JSON.stringify(timesFile(copy))}, \`\${performance.now() - globalThis.__leakguardBenchStart}\\n\`)\n`,
    [copy],
  )
  for (let f = 0; f < n['import-files']; f++) {
    const [importLine, use] = IMPORTS[copy]
    const lines = ["import { expect, test } from 'vitest'", "import './mark-start.js'", ...(importLine ? [importLine] : []), "import './mark-end.js'"]
    lines.push(use ?? '', `test('one ${f}', () => { expect(${f}).toBe(${f}) })`, '')
    workspace.write(`test/one-${f}.test.js`, lines.join('\n'), [copy])
  }
}
const readTimes = (copy) => readFileSync(timesFile(copy), 'utf8').trim().split('\n').map(Number)

try {
  // Warm-up, and a check that leakguard checked every test where it is on, and nowhere else.
  const EXPECTED = {
    off: 'no report',
    control: 'no report',
    on: `${n.files * n.tests + 1} tests checked, leaks: test/probe.test.js timer`,
    bare: `${n['import-files']} tests checked, leaks: `,
    imported: `${n['import-files']} tests checked, leaks: `,
    floor: `${n['import-files']} tests checked, leaks: `,
  }
  for (const copy of Object.keys(workspace.roots)) {
    await run(copy)
    const found = workspace.reportSummary(copy)
    if (found !== EXPECTED[copy]) {
      console.error(`bench: the "${copy}" copy should give "${EXPECTED[copy]}"; it gave "${found}"`)
      process.exit(1)
    }
  }
  // Only the timed rounds count.
  const before = Object.fromEntries(PER_FILE.map((copy) => [copy, readTimes(copy).length]))

  const one = ['--maxWorkers=1']
  const pairs = { on: [], control: [], perFile: [] }
  for (let r = 0; r < n.rounds; r++) pairs.on.push(await together('off', 'on', r, one))
  for (let r = 0; r < n['control-rounds']; r++) pairs.control.push(await together('off', 'control', r, one))
  for (let r = 0; r < n['import-rounds']; r++) {
    pairs.perFile.push(await together('bare', 'imported', r, one))
    // Only for the time in the worker: get-port's import, for scale.
    await together('bare', 'floor', r, one)
  }

  console.log(`suite: ${n.files} files x ${n.tests} tests, each file imports leakguard (${IMPORT})`)
  console.log(`side by side with leakguard off, one worker each (rounds: ${n.rounds} on, ${n['control-rounds']} control)`)
  for (const [key, label] of [['on', 'leakguard on'], ['control', 'control (off)']]) {
    const list = pairs[key]
    if (!list.length) continue
    console.log(
      `${label.padEnd(14)} CPU ${median(ratios(list, 'cpu')).toFixed(3)}x (rounds ${spread(ratios(list, 'cpu'))})   wall ${median(ratios(list, 'wall')).toFixed(3)}x (rounds ${spread(ratios(list, 'wall'))})   off median ${secs(median(list.map(([b]) => b.wall)))} s`,
    )
  }

  if (pairs.perFile.length) {
    const files = n['import-files']
    const perFile = pairs.perFile.map(([bare, imported]) => (imported.wall - bare.wall) / files)
    const inWorker = (copy) => median(readTimes(copy).slice(before[copy]))
    console.log(`\n${files} one-test files, leakguard on, with the import against without it, side by side (${pairs.perFile.length} rounds)`)
    console.log(
      `wall ${median(ratios(pairs.perFile, 'wall')).toFixed(3)}x (rounds ${spread(ratios(pairs.perFile, 'wall'))}), ${median(perFile).toFixed(1)} ms per file (rounds ${Math.min(...perFile).toFixed(1)} – ${Math.max(...perFile).toFixed(1)} ms), without the import ${secs(median(pairs.perFile.map(([b]) => b.wall)))} s`,
    )
    console.log(
      `timed in the test worker: ${(inWorker('imported') - inWorker('bare')).toFixed(2)} ms per file (median ${inWorker('imported').toFixed(2)} ms between the marks with the import, ${inWorker('bare').toFixed(2)} ms without)`,
    )
    console.log(`for scale, importing get-port (one small ES module) there: ${(inWorker('floor') - inWorker('bare')).toFixed(2)} ms per file`)
  }
  if (pairs.on.length) {
    console.log(`\nwith the import in every file: leakguard on / off = ${median(ratios(pairs.on, 'wall')).toFixed(3)}x wall, ${median(ratios(pairs.on, 'cpu')).toFixed(3)}x CPU, side by side (target ≤ 1.03x wall)`)
  }
} finally {
  workspace.remove()
}
