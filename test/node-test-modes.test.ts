// node:test beyond the zoo: files side by side, every file in one process, useServer, bad config,
// the gate on node:test's report, and a process a test forks (which inherits `--import`).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ROOT } from './helpers/run-vitest.js'
import { runNodeTest } from './helpers/run-node-test.js'

let dir: string
const write = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text)
  return name
}

beforeAll(() => {
  mkdirSync(join(ROOT, '.scratch'), { recursive: true })
  dir = mkdtempSync(join(ROOT, '.scratch', 'node-test-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Three files that each leak one timer, with a clean test beside it.
function leakyFiles(prefix: string): string[] {
  return [1, 2, 3].map((n) =>
    write(
      `${prefix}-${n}.test.mjs`,
      [
        "import { test } from 'node:test'",
        `test('leaks ${n}', () => { setInterval(() => {}, ${n}000) })`,
        `test('clean ${n}', () => { clearInterval(setInterval(() => {}, 10)) })`,
        '',
      ].join('\n'),
    ),
  )
}

describe('node:test modes', () => {
  test('files side by side (--test-concurrency=3): one report with every file', async () => {
    const files = leakyFiles('side')
    const run = await runNodeTest(dir, files, { args: ['--test-concurrency=3'] })
    expect(run.code).toBe(1)
    expect(run.outcomes.filter((o) => o.state === 'failed').map((o) => o.name).sort()).toEqual(['leaks 1', 'leaks 2', 'leaks 3'])
    expect(run.report!.leaks.map((l) => `${l.file} > ${l.test}: ${l.description}`).sort()).toEqual([
      'side-1.test.mjs > leaks 1: setInterval every 1000 ms',
      'side-2.test.mjs > leaks 2: setInterval every 2000 ms',
      'side-3.test.mjs > leaks 3: setInterval every 3000 ms',
    ])
    expect(run.report!.totals.testsChecked).toBe(6)
  })

  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number]
  test.runIf(major > 22 || (major === 22 && minor >= 8))('every file in one process (--test-isolation=none)', async () => {
    const files = leakyFiles('one')
    // Node 22 knows the flag by its experimental name only.
    const run = await runNodeTest(dir, files, { args: [major >= 23 ? '--test-isolation=none' : '--experimental-test-isolation=none'] })
    expect(run.code).toBe(1)
    expect(run.outcomes.filter((o) => o.state === 'failed').map((o) => o.name).sort()).toEqual(['leaks 1', 'leaks 2', 'leaks 3'])
    expect(run.report!.leaks.map((l) => `${l.file} > ${l.test}`).sort()).toEqual([
      'one-1.test.mjs > leaks 1',
      'one-2.test.mjs > leaks 2',
      'one-3.test.mjs > leaks 3',
    ])
    expect(run.report!.totals.testsChecked).toBe(6)
  })

  test('useServer from leakguard/node-test: started before the tests, stopped after, nothing leaks', async () => {
    const file = write(
      'server.test.mjs',
      [
        "import { test, describe } from 'node:test'",
        "import assert from 'node:assert/strict'",
        "import { useServer } from 'leakguard/node-test'",
        "import http from 'node:http'",
        "const server = useServer(() => (req, res) => res.end('hello'))",
        "describe('per test', () => {",
        "  const fresh = useServer(() => http.createServer((req, res) => res.end(String(req.url))), { scope: 'test' })",
        "  test('a fresh server', async () => { assert.equal((await fresh.request.get('/x')).text, '/x') })",
        '})',
        "test('answers', async () => { assert.equal((await server.request.get('/')).text, 'hello') })",
        "test('on loopback', () => { assert.match(server.url, /^http:\\/\\/127\\.0\\.0\\.1:\\d+$/) })",
        '',
      ].join('\n'),
    )
    const run = await runNodeTest(dir, [file])
    expect(run.outcomes.map((o) => `${o.name}: ${o.state}${o.error ? ` ${o.error}` : ''}`)).toEqual([
      'per test > a fresh server: passed',
      'answers: passed',
      'on loopback: passed',
    ])
    expect(run.code).toBe(0)
    expect(run.report!.leaks).toEqual([])
  })

  test("a test's own t.after cleanup runs before the check; what it leaves open is still a leak", async () => {
    const file = write(
      't-after.test.mjs',
      [
        "import { test } from 'node:test'",
        "import http from 'node:http'",
        'const listen = async () => { const s = http.createServer(); await new Promise((r) => s.listen(0, "127.0.0.1", r)); return s }',
        "test('closes its server in t.after', async (t) => { const s = await listen(); t.after(() => new Promise((r) => s.close(r))) })",
        "test('its t.after leaves the server open', async (t) => { const s = await listen(); t.after(() => {}) })",
        '',
      ].join('\n'),
    )
    const run = await runNodeTest(dir, [file])
    expect(run.outcomes.map((o) => `${o.name}: ${o.state}`)).toEqual(['closes its server in t.after: passed', 'its t.after leaves the server open: failed'])
    expect(run.outcomes[1]!.error).toMatch(/^LeakError: 1 resource leaked by this test:[\s\S]*HTTP server listening on 127\.0\.0\.1:\d+/)
    expect(run.report!.leaks.map((l) => `${l.test}: ${l.kind}`)).toEqual(['its t.after leaves the server open: server'])
  })

  test('a bad leakguard.config.json: one line naming the fix, and the run fails', async () => {
    const sub = join(dir, 'bad-config')
    mkdirSync(sub)
    writeFileSync(join(sub, 'leakguard.config.json'), '{ "settleMs": -1 }')
    writeFileSync(join(sub, 'a.test.mjs'), "import { test } from 'node:test'\ntest('fine', () => {})\n")
    const run = await runNodeTest(sub, ['a.test.mjs'])
    expect(run.code).toBe(1)
    const lines = run.stderr.split('\n').filter((l) => l.includes('leakguard'))
    expect(lines).toEqual([expect.stringMatching(/^leakguard: .*leakguard\.config\.json: `settleMs` must be a number of milliseconds ≥ 0; received -1\.$/)])
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  test('leakguard gate reads the report of a node:test run', async () => {
    const sub = join(dir, 'gate')
    mkdirSync(sub)
    writeFileSync(join(sub, 'g.test.mjs'), "import { test } from 'node:test'\ntest('leaks', () => { setTimeout(() => {}, 30_000) })\n")
    await runNodeTest(sub, ['g.test.mjs'])
    const gate = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(process.execPath, [join(ROOT, 'bin', 'leakguard.mjs'), 'gate'], { cwd: sub }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code) : 0, out: stdout + stderr }),
      ),
    )
    expect(gate.code).toBe(1)
    expect(gate.out).toContain('g.test.mjs')
    expect(gate.out).toContain('setTimeout of 30000 ms')
  })

  test("a run removes the folders that ended runs left in .leakguard/runs, and then its own stays until the next", async () => {
    const sub = join(dir, 'prune')
    const runs = join(sub, '.leakguard', 'runs')
    // A run whose \`node --test\` process is gone (no pid is this high), and one of a process still alive (this one).
    const stale = join(runs, '4194304999-1')
    const live = join(runs, `${process.pid}-x`)
    mkdirSync(stale, { recursive: true })
    mkdirSync(live, { recursive: true })
    const files = [1, 2, 3].map((n) => {
      writeFileSync(join(sub, `p${n}.test.mjs`), `import { test } from 'node:test'\ntest('fine ${n}', () => {})\n`)
      return `p${n}.test.mjs`
    })
    const run = await runNodeTest(sub, files, { args: ['--test-concurrency=3'] })
    expect(run.code).toBe(0)
    expect(run.report!.totals.testsChecked).toBe(3)
    const left = readdirSync(runs)
    expect(left).not.toContain('4194304999-1')
    expect(left).toContain(`${process.pid}-x`)
    // This run's own folder, with its three files' results.
    const own = left.filter((id) => id !== `${process.pid}-x`)
    expect(own).toHaveLength(1)
    expect(readdirSync(join(runs, own[0]!)).filter((n) => n.endsWith('.json'))).toHaveLength(3)
  })

  test("a leaked connection to the test's own server: reported once, as the client, and the run still ends by itself", async () => {
    const sub = join(dir, 'peer')
    mkdirSync(sub)
    writeFileSync(
      join(sub, 'peer.test.mjs'),
      [
        "import { test } from 'node:test'",
        "import net from 'node:net'",
        "test('leaks a loopback connection', async () => {",
        '  const server = net.createServer()',
        "  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))",
        "  const client = net.connect(server.address().port, '127.0.0.1')",
        "  await new Promise((resolve) => client.on('connect', resolve))",
        // Stops listening; the accepted end of the connection stays open, as the client does.
        '  server.close()',
        '})',
        '',
      ].join('\n'),
    )
    // Both ends of the connection hold the file's process open: both must be let go of once reported.
    const ended = await new Promise<{ killed: boolean; code: number | null }>((resolve) =>
      execFile(process.execPath, ['--import', 'leakguard/node-test', '--test', 'peer.test.mjs'], { cwd: sub, timeout: 30_000 }, (error) =>
        resolve({ killed: Boolean(error?.killed), code: error ? Number((error as { code?: number }).code) : 0 }),
      ),
    )
    expect(ended).toEqual({ killed: false, code: 1 })
    const report = JSON.parse(readFileSync(join(sub, '.leakguard', 'report.json'), 'utf8')) as { leaks: { kind: string; description: string }[] }
    expect(report.leaks.map((l) => l.kind)).toEqual(['socket'])
  }, 60_000)

  test('a node process that a test forks inherits --import, and arms nothing', async () => {
    write('child.mjs', "process.send?.('ready'); setTimeout(() => process.exit(0), 50)\n")
    const file = write(
      'fork.test.mjs',
      [
        "import { test } from 'node:test'",
        "import assert from 'node:assert/strict'",
        "import { fork } from 'node:child_process'",
        "import { once } from 'node:events'",
        "test('forks a node child that prints and exits', async () => {",
        "  const child = fork(new URL('./child.mjs', import.meta.url), { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })",
        "  let out = ''",
        "  child.stdout.on('data', (c) => (out += c))",
        "  child.stderr.on('data', (c) => (out += c))",
        "  const [code] = await once(child, 'exit')",
        "  assert.equal(code, 0)",
        "  assert.equal(out, '')",
        "  assert.ok(process.execArgv.join(' ').includes('leakguard/node-test'))",
        '})',
        '',
      ].join('\n'),
    )
    const run = await runNodeTest(dir, [file])
    expect(run.outcomes.map((o) => `${o.name}: ${o.state}${o.error ? ` ${o.error}` : ''}`)).toEqual(['forks a node child that prints and exits: passed'])
    expect(run.code).toBe(0)
  })
})
