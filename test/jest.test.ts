// The leak zoo under Jest: every fixture of test/fixtures/zoo, ported to CommonJS with its `vitest`
// import pointed at a shim over Jest's globals, run by Jest as a child process with leakguard wired
// as the README says (setupFilesAfterEnv and reporters). The same verdicts as under Vitest, in
// workers and in band; a subset under jsdom; the report and a gate run on it; bad config; useServer.
import { beforeAll, describe, expect, test } from 'vitest'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { portZoo, type PortedZoo } from './helpers/port-zoo.js'
import { runJest, type JestRun } from './helpers/run-jest.js'
import { ROOT, siteOf } from './helpers/run-vitest.js'
import { CLEAN, LEAKS, processState } from './helpers/zoo-cases.js'

const SHIM = join(ROOT, 'test', 'fixtures', 'shims', 'jest.cjs')
// CI's Node 24 stage puts its node first on PATH: Jest runs on the node that runs this suite.
const node = process.execPath

/** `file:line:` of a `SITE:name` marker in a ported file (the port keeps the markers, not the lines), relative to the zoo. */
function siteIn(zoo: PortedZoo, file: string, name: string): string {
  return relative(zoo.dir, siteOf(join(zoo.dir, zoo.name(file)), name))
}

/** A description pattern written for the zoo's `.ts` files, for the ported ones. */
function portWithConfig(): PortedZoo {
  const zoo = portZoo('cjs', SHIM, { leakguard: 'leakguard/jest' })
  const lines = readFileSync(join(zoo.dir, zoo.name('allow.test.ts')), 'utf8').split('\n')
  const line = lines.findIndex((l) => l.includes('allowed-by-config')) + 1
  writeFileSync(
    join(zoo.dir, 'leakguard.config.json'),
    JSON.stringify({ allow: [{ kind: 'timer', site: { source: `allow\\.test\\.cjs:${line}:` } }] }),
  )
  return zoo
}

const MODES = [
  { mode: 'workers', args: ['--maxWorkers=2'] },
  { mode: 'in band', args: ['--runInBand'] },
] as const

describe.each(MODES)('Jest, $mode', ({ args }) => {
  let zoo: PortedZoo
  let run: JestRun
  beforeAll(async () => {
    zoo = portWithConfig()
    // Leaking tests keep an in-band Jest alive (its own "did not exit" warning): --forceExit.
    run = await runJest(zoo.dir, { args: [...args, '--forceExit'], env: { ZOO_HARNESS: 'jest' }, node })
  }, 120_000)

  const outcome = (file: string, name: string) => {
    const o = run.tests.get(`${zoo.name(file)} > ${name}`)
    if (!o) throw new Error(`no test "${name}" in ${file}; have: ${[...run.tests.keys()].join(', ')}\n${run.output}`)
    return o
  }
  const reported = (file: string, name: string | null) => run.report!.leaks.filter((l) => l.file === zoo.name(file) && l.test === name)

  test.each(LEAKS)('leak: $file > $test', (c) => {
    const o = outcome(c.file, c.test)
    expect(o.state).toBe('failed')
    const leaks = reported(c.file, c.test)
    expect(leaks).toHaveLength(1)
    const leak = leaks[0]!
    expect(leak.kind).toBe(c.kind)
    expect(leak.description).toMatch(zoo.pattern(c.description))
    expect(leak.hint).toMatch(c.hint)
    if (c.site === null) expect(leak.site).toBeNull()
    else expect(`${leak.site}`).toContain(siteIn(zoo, c.file, c.site))
    // The failure message names the resource, where it was created and the fix, as under Vitest.
    expect(o.errors).toHaveLength(1)
    expect(o.errors[0]).toMatch(/^LeakError: 1 resource leaked by this test:/)
    expect(o.errors[0]).toContain(leak.description)
    expect(o.errors[0]).toContain(leak.hint)
    if (c.site !== null) expect(o.errors[0]).toContain(`created at ${siteIn(zoo, c.file, c.site)}`)
    expect(o.errors[0]).toContain(`allowLeaks('${c.kind}')`)
  })

  test.each(CLEAN)('not a leak: %s > %s', (file, name) => {
    const o = outcome(file, name)
    expect(o.errors).toEqual([])
    expect(o.state).toBe('passed')
    expect(reported(file, name)).toEqual([])
  })

  test('module scope and beforeAll leaks fail the file, test leaks are not repeated', () => {
    const leaks = reported('file-level.test.ts', null)
    expect(leaks.map((l) => `${l.kind} ${l.site}`)).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`timer ${siteIn(zoo, 'file-level.test.ts', 'module-interval')}`),
        expect.stringContaining(`server ${siteIn(zoo, 'file-level.test.ts', 'beforeall-server')}`),
      ]),
    )
    expect(leaks).toHaveLength(2)
    expect(run.files.get(zoo.name('file-level.test.ts'))).toMatch(/2 resources leaked by this file outside its tests/)
    const others = run.report!.leaks.filter((l) => l.test === null && l.file !== zoo.name('file-level.test.ts'))
    expect(others).toEqual([])
  })

  test('report.json: one report for the run, every leak once', () => {
    const report = run.report!
    expect(report.schemaVersion).toBe(1)
    expect(report.runner).toBe('jest')
    expect(report.vitestVersion).toBe(JSON.parse(readFileSync(join(ROOT, 'node_modules', 'jest', 'package.json'), 'utf8')).version)
    expect(report.leaks.filter((l) => l.test !== null)).toHaveLength(LEAKS.length)
    expect(report.totals.testsChecked).toBe(LEAKS.length + CLEAN.length)
    // eslint-disable-next-line no-control-regex
    expect(run.output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Leaks\s+\d+ in \d+ tests \(\d+ files\)/)
  })

  test('leaked processes were terminated: none is alive after the run', () => {
    const pids = run.report!.leaks.filter((l) => l.kind === 'child-process').map((l) => Number(l.details.pid))
    expect(pids).toHaveLength(LEAKS.filter((c) => c.kind === 'child-process').length)
    for (const pid of pids) expect(processState(pid), `process ${pid}`).toBe('gone')
  })

  test('leakguard gate reads the report: new leaks exit 1, a baseline of them exits 0', () => {
    const gate = (...extra: string[]) =>
      spawnSync(node, [join(ROOT, 'bin', 'leakguard.mjs'), 'gate', ...extra], { cwd: zoo.dir, encoding: 'utf8' })
    expect(gate().status).toBe(1)
    expect(gate('--update-baseline').status).toBe(0)
    expect(gate().status).toBe(0)
  })
})

describe('Jest, jsdom environment', () => {
  let run: JestRun
  let zoo: PortedZoo
  beforeAll(async () => {
    zoo = portWithConfig()
    run = await runJest(zoo.dir, {
      config: { testEnvironment: 'jsdom', testMatch: ['**/timers.test.cjs', '**/harness.test.cjs'] },
      args: ['--maxWorkers=2', '--forceExit'],
      env: { ZOO_HARNESS: 'jest' },
      node,
    })
  }, 180_000)

  // jsdom's setTimeout returns a number: the zoo's unref'd timer has no unref() there.
  test('the timer zoo has the same verdicts', () => {
    const files = new Set(['timers.test.ts', 'harness.test.ts'])
    for (const c of LEAKS.filter((l) => files.has(l.file))) {
      expect(run.tests.get(`${zoo.name(c.file)} > ${c.test}`)?.state, c.test).toBe('failed')
      const leaks = run.report!.leaks.filter((l) => l.file === zoo.name(c.file) && l.test === c.test)
      expect(leaks.map((l) => l.kind), c.test).toEqual([c.kind])
    }
    for (const [file, name] of CLEAN.filter(([f, n]) => files.has(f) && !n.includes("unref'd"))) {
      expect(run.tests.get(`${zoo.name(file)} > ${name}`)?.state, name).toBe('passed')
    }
  })

  // In band, after another jsdom file in the same worker: closing the leaking test's bracket once waited on the first
  // file's window timers, which never fire after its teardown, until the hook timed out.
  test("a timer set through jsdom's window is the test's, in a worker that ran another jsdom file first", async () => {
    for (const f of ['first-window.test.cjs', 'window-timer.test.cjs']) cpSync(join(ROOT, 'test', 'fixtures', 'jest', f), join(zoo.dir, f))
    const windowRun = await runJest(zoo.dir, {
      config: { testEnvironment: 'jsdom', testMatch: ['**/first-window.test.cjs', '**/window-timer.test.cjs'], testTimeout: 20_000 },
      args: ['-i', '--forceExit'],
      node,
    })
    expect(windowRun.tests.get('first-window.test.cjs > a cleared window timeout in the first file is not a leak')?.state).toBe('passed')
    expect(windowRun.tests.get('window-timer.test.cjs > leaks a window interval'), windowRun.output).toMatchObject({ state: 'failed' })
    const leaks = windowRun.report!.leaks.filter((l) => l.file === 'window-timer.test.cjs')
    expect(leaks.map((l) => [l.test, l.kind])).toEqual([['leaks a window interval', 'timer']])
    expect(windowRun.tests.get('window-timer.test.cjs > a cleared window timeout is not a leak')?.state).toBe('passed')
  }, 120_000)
})

describe('Jest, set-up', () => {
  /** A fresh folder under the repository's .scratch for one Jest project. */
  const scratch = (prefix: string): string => {
    mkdirSync(join(ROOT, '.scratch'), { recursive: true })
    return mkdtempSync(join(ROOT, '.scratch', prefix))
  }

  test('a bad leakguard.config.json: one line naming the file and the fix, no stack', async () => {
    const dir = scratch('jest-config-')
    writeFileSync(join(dir, 'leakguard.config.json'), '{ "settleMs": -1 }')
    writeFileSync(join(dir, 'one.test.cjs'), "test('runs', () => {})\n")
    const run = await runJest(dir, { node })
    expect(run.code).toBe(1)
    const lines = run.output.split('\n').filter((l) => l.includes('leakguard.config.json'))
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(line.trim()).toMatch(/^leakguard: .*leakguard\.config\.json: .*settleMs/)
    expect(run.output).not.toMatch(/^\s+at .*(config-file|jest\.cjs)/m)
  }, 60_000)

  // Jest's default transform (babel-jest), and one that moves every line 10 down (as ts-jest's output differs from
  // the source). Three files in one process: the stack of a leak is formatted with its own file's source maps.
  const TRANSFORMS = [
    { name: "Jest's default (babel-jest)", transform: undefined },
    { name: 'a transform that moves lines', transform: { '\\.test\\.cjs$': join(ROOT, 'test', 'fixtures', 'jest', 'shift-transform.cjs') } },
  ]
  test.each(TRANSFORMS)('with $name, every file in a worker gets its leak sites, not only the first', async ({ transform }) => {
    const dir = scratch('jest-sites-')
    const leaky = [
      "const http = require('node:http')",
      "test('leaks a server', async () => {",
      '  await new Promise((resolve) =>',
      "    http.createServer().listen(0, '127.0.0.1', resolve))",
      '})',
      '',
    ].join('\n')
    for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, `${name}.test.cjs`), leaky)
    writeFileSync(join(dir, 'leakguard.config.json'), '{ "failOnLeak": false }')
    const run = await runJest(dir, { config: { transform }, args: ['--runInBand', '--forceExit', '--no-cache'], node })
    // Line 4, at `listen`.
    expect(run.report!.leaks.map((l) => l.site).sort(), run.output).toEqual(['a.test.cjs:4:25', 'b.test.cjs:4:25', 'c.test.cjs:4:25'])
  }, 60_000)

  // Jest's --detectLeaks fails a file whose global is still reachable once the file is done. What leakguard sets up
  // once for a worker (its state, the patched builtins) is made in Node's realm, not in the first file's vm context.
  test.each([['in band', '--runInBand'], ['in workers', '--maxWorkers=2']])(
    "Jest's --detectLeaks passes %s: no test file's global outlives it",
    async (_mode, mode) => {
      const dir = scratch('jest-detect-leaks-')
      // (Not a server: one that listens once in a worker makes Jest report its file with or without leakguard.)
      const clean = [
        "test('a timer that fires', () => new Promise((resolve) => setTimeout(resolve, 5)))",
        "test('an interval, cleared', () => clearInterval(setInterval(() => {}, 1_000)))",
        '',
      ].join('\n')
      for (const name of ['a', 'b', 'c', 'd']) writeFileSync(join(dir, `${name}.test.cjs`), clean)
      const run = await runJest(dir, { args: [mode, '--detectLeaks'], node })
      expect(run.output).not.toMatch(/leaking memory/)
      expect(run.code, run.output).toBe(0)
      // leakguard was on: it checked every test.
      expect(run.report!.totals.testsChecked).toBe(8)
    },
    60_000,
  )

  // Where no beforeEach or afterEach of the user's runs around a test, its body is its bracket and leakguard's two hooks
  // leave the root block (jest-circus runs a hook at about twice the cost of the bracket); elsewhere they stay. The
  // verdicts are the same either way.
  test("a test's body is its bracket unless a hook of the user's, done, or test.failing needs leakguard's hooks", async () => {
    const dir = scratch('jest-brackets-')
    const hooksOfRoot = [
      "const state = globalThis[Object.getOwnPropertySymbols(globalThis).find((s) => s.description === 'JEST_STATE_SYMBOL')]",
      'const leakguardHooks = () => state.rootDescribeBlock.hooks.map((h) => h.fn.name).filter((n) => /^leakguard(Open|Close)Test$/.test(n))',
    ]
    const leaking = [
      "test('leaks an interval', () => { setInterval(() => {}, 1_000) })",
      "test('leaks an interval, then throws', () => { setInterval(() => {}, 1_000); throw new Error('its own failure') })",
      "test('leaks a timeout, async', async () => { await null; setTimeout(() => {}, 60_000) })",
      // Jest gives up on it after 300 ms and runs the next test while its body still waits.
      "test('hangs with an interval', () => new Promise(() => { setInterval(() => {}, 1_000) }), 300)",
      "test('waits for a timer that fires', () => new Promise((resolve) => setTimeout(resolve, 5)))",
    ]
    const files: Record<string, string[]> = {
      'plain.test.cjs': [...hooksOfRoot, "test('leakguard has no hook per test', () => expect(leakguardHooks()).toEqual([]))", ...leaking],
      'nested.test.cjs': [
        ...hooksOfRoot,
        "describe('outer', () => { describe('inner', () => { beforeEach(() => {}); test('has its hooks', () => expect(leakguardHooks()).toEqual(['leakguardOpenTest', 'leakguardCloseTest'])) }) })",
        ...leaking,
      ],
      'done.test.cjs': [
        ...hooksOfRoot,
        "test('takes done', (done) => { expect(leakguardHooks()).toEqual(['leakguardOpenTest', 'leakguardCloseTest']); done() })",
        ...leaking,
      ],
      'failing.test.cjs': [
        ...hooksOfRoot,
        "test.failing('is expected to fail', () => { throw new Error('as expected') })",
        "test('has its hooks', () => expect(leakguardHooks()).toEqual(['leakguardOpenTest', 'leakguardCloseTest']))",
        ...leaking,
      ],
    }
    for (const [name, lines] of Object.entries(files)) writeFileSync(join(dir, name), [...lines, ''].join('\n'))
    const run = await runJest(dir, { args: ['--runInBand'], node })
    for (const file of Object.keys(files)) {
      const state = (test: string) => run.tests.get(`${file} > ${test}`)
      for (const own of ['leakguard has no hook per test', 'has its hooks', 'takes done', 'is expected to fail']) {
        if (state(own)) expect(state(own), `${file} > ${own}\n${run.output}`).toEqual({ state: 'passed', errors: [] })
      }
      expect(state('leaks an interval')?.errors.join('\n'), file).toMatch(/LeakError[^]*setInterval/)
      expect(state('leaks an interval, then throws')?.errors.join('\n'), file).toMatch(/its own failure/)
      expect(state('leaks a timeout, async')?.errors.join('\n'), file).toMatch(/LeakError[^]*setTimeout/)
      expect(state('hangs with an interval')?.errors.join('\n'), file).toMatch(/Exceeded timeout of 300 ms/)
      // The test after the one Jest gave up on is checked on its own: clean, not blamed, not overlapped.
      expect(state('waits for a timer that fires'), file).toEqual({ state: 'passed', errors: [] })
      const leaks = run.report!.leaks.filter((l) => l.file === file).map((l) => `${l.test} ${l.kind}`)
      expect(leaks.sort(), file).toEqual([
        'hangs with an interval timer',
        'leaks a timeout, async timer',
        'leaks an interval timer',
        'leaks an interval, then throws timer',
      ])
    }
    expect(run.report!.totals.testsChecked).toBe(4 * 6 + 1)
  }, 60_000)

  test('useServer() from leakguard/jest: started before the tests, stopped after, no leak', async () => {
    const dir = scratch('jest-server-')
    cpSync(join(ROOT, 'test', 'fixtures', 'jest', 'server.test.cjs'), join(dir, 'server.test.cjs'))
    const run = await runJest(dir, { node })
    expect(run.tests.get('server.test.cjs > answers through the handle'), run.output).toEqual({ state: 'passed', errors: [] })
    expect(run.tests.get('server.test.cjs > keeps its port between tests')?.state).toBe('passed')
    expect(run.report!.leaks).toEqual([])
    expect(run.code).toBe(0)
  }, 60_000)
})
