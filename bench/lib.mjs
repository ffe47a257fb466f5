// What the suite benchmarks share (detector.mjs, import.mjs): a temporary workspace where leakguard
// is installed as a user has it, identical copies of a generated suite (one per configuration),
// one Vitest run of a copy, two runs side by side, and the statistics.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))

/**
 * A Vitest config: leakguard's plugin where `plugin` is true (with more of its options where
 * given, as source text), and more of `test` where given.
 */
export function vitestConfig({ plugin, options = '', test = '' }) {
  return [
    "import { defineConfig } from 'vitest/config'",
    plugin ? "import { leakguard } from 'leakguard/vitest'" : '',
    `export default defineConfig({ cacheDir: '.cache', ${plugin ? `plugins: [leakguard({ failOnLeak: false${options ? `, ${options}` : ''} })], ` : ''}test: { include: ['test/**/*.test.js'], reporters: ['dot']${test ? `, ${test}` : ''} } })`,
    '',
  ].join('\n')
}

/**
 * A temporary folder with leakguard as a user has it (a copy in node_modules, imported by name:
 * imported by path, Vite's config loader would bundle all of dist into the config on every run;
 * a package it leaves alone), and one copy of the suite per configuration, each with its own
 * caches so that two can run at the same time. `configs`: copy name → vitest.config.mjs text.
 */
export function createWorkspace(prefix, configs) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  mkdirSync(join(dir, 'node_modules'))
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry), 'dir')
  }
  mkdirSync(join(dir, 'node_modules', 'leakguard'))
  cpSync(join(ROOT, 'package.json'), join(dir, 'node_modules', 'leakguard', 'package.json'))
  cpSync(join(ROOT, 'dist'), join(dir, 'node_modules', 'leakguard', 'dist'), { recursive: true })
  const roots = {}
  for (const [name, config] of Object.entries(configs)) {
    const root = (roots[name] = join(dir, name))
    mkdirSync(join(root, 'test'), { recursive: true })
    symlinkSync(join(dir, 'node_modules'), join(root, 'node_modules'), 'dir')
    writeFileSync(join(root, 'vitest.config.mjs'), config)
  }
  return {
    dir,
    roots,
    /** Writes the same file into every copy (or the copies named). */
    write(path, text, copies = Object.keys(roots)) {
      for (const copy of copies) {
        mkdirSync(dirname(join(roots[copy], path)), { recursive: true })
        writeFileSync(join(roots[copy], path), text)
      }
    },
    /** The leak report a run of a copy wrote: `N tests checked, leaks: file kind, …`, or `no report`. */
    reportSummary(copy) {
      const file = join(roots[copy], '.leakguard', 'report.json')
      if (!existsSync(file)) return 'no report'
      const report = JSON.parse(readFileSync(file, 'utf8'))
      return `${report.totals.testsChecked} tests checked, leaks: ${report.leaks.map((l) => `${l.file} ${l.kind}`).join(', ')}`
    },
    remove() {
      if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** One test file of `tests` promise-heavy tests (`awaits` awaits each); `header` lines go first. */
export function suiteFile(index, { tests, awaits, header = [] }) {
  const lines = [
    "import { describe, expect, test } from 'vitest'",
    ...header,
    'async function step(i) { await null; return i + 1 }',
    'async function chain(n) { let x = 0; for (let i = 0; i < n; i++) x = await step(x); return x }',
    `describe('file ${index}', () => {`,
  ]
  for (let t = 0; t < tests; t++) {
    lines.push(
      `  test('test ${t}', async () => {`,
      `    const results = await Promise.all([chain(${awaits / 2}), chain(${awaits / 2})])`,
      `    expect(results).toEqual([${awaits / 2}, ${awaits / 2}])`,
      '  })',
    )
  }
  lines.push('})', '')
  return lines.join('\n')
}

/** The probe: one test that leaks a timer. Where leakguard is on, the report must name it. */
export const PROBE = "import { test } from 'vitest'\ntest('probe', () => { setTimeout(() => {}, 60_000) })\n"

// CPU time of the whole process tree (Vitest and its workers), from GNU time where installed.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null

/** Runs Vitest on the copies of a workspace. */
export function runner(workspace) {
  const vitestBin = join(workspace.dir, 'node_modules', 'vitest', 'vitest.mjs')

  /** One Vitest run of a copy of the suite: wall and CPU milliseconds. */
  function run(copy, { args = [], files = [], mayFail = false, env = {} } = {}) {
    // The reporter is set in the config: one on the command line would replace leakguard's too.
    // --detectAsyncLeaks reports (and may fail on) Vitest's own internals; only the time counts.
    return timedRun([vitestBin, 'run', ...args, ...files], workspace.roots[copy], { mayFail, label: `the "${copy}" copy`, env: { CI: '1', ...env } })
  }

  /** Two runs side by side (see sideBySide). */
  const together = (a, b, round, args) => sideBySide((copy) => run(copy, { args }), a, b, round)

  return { run, together }
}

/**
 * One run of a command in `cwd` (node and its arguments): wall and CPU milliseconds of the whole
 * process tree. Exits the bench with the output when it fails, unless `mayFail`.
 */
export function timedRun(argv, cwd, { mayFail = false, label = cwd, env = {} } = {}) {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint()
    const child = spawn(TIME ?? process.execPath, TIME ? ['-f', 'LEAKGUARD_CPU %U %S', process.execPath, ...argv] : argv, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e6
      if (code !== 0 && !mayFail) {
        console.error(`bench: a run of ${label} failed:\n${out}`)
        process.exit(1)
      }
      const used = /LEAKGUARD_CPU ([\d.]+) ([\d.]+)/.exec(out)
      resolve({ wall, cpu: used ? (Number(used[1]) + Number(used[2])) * 1000 : NaN })
    })
  })
}

/**
 * Warm-up, and the check that leakguard armed where it is on and nowhere else, for runners whose
 * options come from leakguard.config.json: with `unrefTimers` on, the probe's unref'd timer must
 * be the one leak of `tests` checked tests; then, with the default, no leak and no report from the
 * other copies. Exits the bench otherwise.
 */
export async function checkArmed(workspace, run, { copies, on = 'on', tests, probe }) {
  const configFile = join(workspace.roots[on], 'leakguard.config.json')
  const expect = async (copy, wanted) => {
    await run(copy)
    const found = workspace.reportSummary(copy)
    if (found !== wanted) {
      console.error(`bench: the "${copy}" copy should give "${wanted}"; it gave "${found}"`)
      process.exit(1)
    }
  }
  writeFileSync(configFile, '{ "failOnLeak": false, "unrefTimers": true }\n')
  await expect(on, `${tests} tests checked, leaks: ${probe} timer`)
  writeFileSync(configFile, '{ "failOnLeak": false }\n')
  for (const copy of copies) await expect(copy, copy === on ? `${tests} tests checked, leaks: ` : 'no report')
}

/** Two runs started together, the first to start alternating by round; returns [a, b]. */
export async function sideBySide(run, a, b, round) {
  const order = round % 2 ? [a, b] : [b, a]
  const [first, second] = await Promise.all(order.map((copy) => run(copy)))
  return round % 2 ? [first, second] : [second, first]
}

/** Prints the median ratios of each set of side-by-side pairs: `sets` is [label, pairs][]. */
export function printRatios(sets) {
  for (const [label, list] of sets) {
    if (!list.length) continue
    console.log(
      `${label.padEnd(14)} CPU ${median(ratios(list, 'cpu')).toFixed(3)}x (rounds ${spread(ratios(list, 'cpu'))})   wall ${median(ratios(list, 'wall')).toFixed(3)}x (rounds ${spread(ratios(list, 'wall'))})   off median ${secs(median(list.map(([b]) => b.wall)))} s`,
    )
  }
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
export const spread = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return `${s[0].toFixed(3)}x – ${s[s.length - 1].toFixed(3)}x`
}
export const secs = (ms) => (ms / 1000).toFixed(2)
/** Per-round ratios x/base of `key` ('wall' or 'cpu') over [base, x] pairs. */
export const ratios = (pairs, key) => pairs.map(([base, x]) => x[key] / base[key])

/** Whole-number command-line values, or exit with a message naming the bad one. */
export function wholeNumbers(values) {
  const out = {}
  for (const [name, v] of Object.entries(values)) {
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0) {
      console.error(`bench: --${name} must be a whole number`)
      process.exit(2)
    }
    out[name] = n
  }
  return out
}
