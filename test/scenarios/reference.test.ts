// The bundled reference server through every scenario at once (what `npm start` runs), and the server on its own:
// its announcement without an IPC channel, and its configuration rules.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { ConfigError, openUsersDb, readConfig } from '../../dist/reference/index.js'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatTable, runScenarios, scenarios } from '../../dist/scenarios/index.js'
import { isDead } from '../lifecycle/helpers.js'
import { assertBuildIsFresh, ROOT } from './helpers.js'

beforeAll(assertBuildIsFresh)

// Wall time against the longest scenario is measured by bench/scenarios-repeat.mjs, not here.
test('every scenario passes against the reference server, and the README shows this table', async () => {
  const report = await runScenarios()
  const failed = report.results.filter((r) => r.verdict !== 'pass')
  expect(failed, JSON.stringify(failed, null, 2)).toEqual([])
  expect(report.results.map((r) => r.name)).toEqual(scenarios.map((s) => s.name))
  expect(report).toMatchObject({ ok: true, passed: scenarios.length, failed: 0, skipped: 0 })
  for (const result of report.results) expect(result.detail).not.toMatch(/\n/)

  // The README's sample: same rows, same verdicts, same wording; numbers, ids and paths vary.
  const normalize = (text: string) =>
    text
      .replace(/\(node [^)]*main\.cjs\)/g, '(node PATH)')
      .replace(/\b[0-9a-f]{8}\b/g, 'ID')
      .replace(/longest scenario \S+/, 'longest scenario NAME')
      .replace(/\d+(\.\d+)? ?(ms|s)\b/g, 'T')
      .replace(/\d+(\.\d+)?/g, 'N')
      .replace(/ +/g, ' ')
      .trim()
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /<!-- scenarios-sample -->\s*```\n\$ npm start\n([\s\S]*?)```/.exec(readme)
  expect(block, 'README scenarios sample').not.toBeNull()
  const shown = block![1]!.trim().split('\n').map(normalize)
  const real = formatTable(report).trim().split('\n').map(normalize)
  expect(real.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(shown.map((l) => l.split(' ').slice(0, 2).join(' ')))
  // Details may differ in which errors a racing client saw; the rest of each line must match.
  const words = (l: string) => l.split(' ').filter((w) => !/^E[A-Z]+[,;]?$/.test(w)).slice(0, 8).join(' ')
  expect(real.map(words)).toEqual(shown.map(words))
})

/** Starts the reference server without an IPC channel, waits for its JSON announcement line, then SIGTERMs it. */
async function runWithoutIpc(extraEnv: Record<string, string> = {}, entry = 'dist/reference/main.cjs') {
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', ADMIN_PORT: '0', METRICS_PORT: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const line = new Promise<string>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!)
    })
  })
  const closed = once(child, 'close')
  const announcement = JSON.parse(await line)
  expect(announcement).toMatchObject({ type: 'leakguard:ready', pid: child.pid, generation: 1 })
  expect(announcement.ports.api).toBeGreaterThan(0)
  expect(new Set(Object.values(announcement.ports)).size).toBe(3)
  const health = await fetch(`http://127.0.0.1:${announcement.ports.api}/health`)
  expect(health.status).toBe(200)
  await health.arrayBuffer()
  child.kill('SIGTERM')
  const [code, signal] = await closed
  expect({ code, signal }).toEqual({ code: 0, signal: null })
  expect(stdout.trim().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(/database closed \(generation 1\)/)
  return { announcement, stderr }
}

// main.cjs is the bundle the scenarios run; main.js, the modules tsc wrote, runs the same server (and its own worker).
test.each(['dist/reference/main.cjs', 'dist/reference/main.js'])('%s without an IPC channel announces readiness as one JSON line on stdout, and exits 0 on SIGTERM', async (entry) => {
  const { announcement, stderr } = await runWithoutIpc({}, entry)
  expect(announcement.workerPid).toBeGreaterThan(0)
  expect(stderr).toMatch(new RegExp(`worker ${announcement.workerPid} exited \\(code 0\\)`))
})

test('WORKER_CHILD=0 runs it without the worker child: no child started, none stopped', async () => {
  const { announcement, stderr } = await runWithoutIpc({ WORKER_CHILD: '0' })
  expect(announcement.workerPid).toBe(0)
  expect(stderr).toMatch(/no worker child/)
  expect(stderr).not.toMatch(/worker \d+ exited/)
})

// Every scenario starts a reference server, and each server a job worker: what a process loads is CPU the whole run
// pays for (it is bound by CPU on two cores). The job worker needs neither http nor node:cluster.
test('the job worker loads no http and no node:cluster, answers a job, and ends when its server goes', async () => {
  const { fork } = await import('node:child_process')
  const preload = join(ROOT, 'test', 'scenarios', 'fixtures', 'report-builtins.cjs')
  const worker = fork(join(ROOT, 'dist', 'reference', 'worker.cjs'), [], { execArgv: ['--require', preload], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  const replies: { type: string; value?: number; builtins?: string[] }[] = []
  worker.on('message', (m: (typeof replies)[number]) => replies.push(m))
  await new Promise<void>((resolve) => worker.on('message', (m: { type: string }) => m.type === 'worker:ready' && resolve()))
  worker.send({ type: 'job', id: 1, n: 3 })
  await new Promise<void>((resolve) => worker.on('message', (m: { type: string }) => m.type === 'result' && resolve()))
  expect(replies.find((r) => r.type === 'result')).toMatchObject({ id: 1, value: 14 })
  worker.send({ type: 'builtins?' })
  await new Promise<void>((resolve) => worker.on('message', (m: { type: string }) => m.type === 'builtins' && resolve()))
  const builtins = replies.find((r) => r.type === 'builtins')!.builtins!
  expect(builtins).toContain('NativeModule child_process')
  expect(builtins).not.toContain('NativeModule http')
  expect(builtins).not.toContain('NativeModule cluster')
  worker.disconnect()
  const [code] = await once(worker, 'exit')
  expect(code).toBe(0)
})

// A cluster primary forks and watches its workers; it serves nothing itself, so it loads neither node:http nor the
// server's modules (a primary is in five scenarios, and each process's start-up is CPU the whole run pays for).
test('a cluster primary loads no node:http; its workers do, and SIGTERM ends them all with exit 0', async () => {
  const { fork } = await import('node:child_process')
  const preload = join(ROOT, 'test', 'scenarios', 'fixtures', 'report-builtins.cjs')
  const env = { ...process.env, PORT: '0', ADMIN_PORT: '0', METRICS_PORT: '0', WORKERS: '2', WORKER_CHILD: '0' }
  const primary = fork(join(ROOT, 'dist', 'reference', 'main.cjs'), [], { env, execArgv: ['--require', preload], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  primary.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const closed = once(primary, 'close')
  const message = (type: string) =>
    new Promise<{ type: string; builtins?: string[]; workers?: number[]; ports?: { api: number } }>((resolve) =>
      primary.on('message', (m: { type: string }) => m.type === type && resolve(m)),
    )
  const ready = await message('leakguard:ready')
  expect(ready.workers, stderr).toHaveLength(2)
  const answer = message('builtins')
  primary.send({ type: 'builtins?' })
  const { builtins } = await answer
  expect(builtins).toContain('NativeModule cluster')
  expect(builtins).not.toContain('NativeModule http')
  const res = await fetch(`http://127.0.0.1:${ready.ports!.api}/`)
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  primary.kill('SIGTERM')
  const [code] = await closed
  expect(code, stderr).toBe(0)
  for (const pid of ready.workers!) expect(isDead(pid), `worker ${pid}`).toBe(true)
})

describe('readConfig', () => {
  test('defaults: loopback, ports 3000-3002, in-memory database, derived hard deadline', () => {
    const config = readConfig({})
    expect(config).toMatchObject({ host: '127.0.0.1', ports: { api: 3000, admin: 3001, metrics: 3002 }, databasePath: ':memory:' })
    expect(config.shutdownTimeoutMs).toBe(config.preDrainDelayMs + config.drainTimeoutMs + config.childTimeoutMs + 2_000)
    // One process unless asked; cluster workers get the workers' own deadline and a second more.
    expect(config).toMatchObject({ workers: 1, clusterTimeoutMs: config.shutdownTimeoutMs + 1_000, clusterIgnoreDisconnect: false })
    expect(config.workerChild).toBe(true)
    expect(readConfig({ WORKER_CHILD: '0' }).workerChild).toBe(false)
  })

  const INVALID: readonly [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /^PORT must be an integer from 0 to 65535, got "eighty"\.$/],
    [{ PORT: '70000' }, /^PORT must be an integer/],
    [{ HOST: '0.0.0.0' }, /^HOST must be a loopback address/],
    [{ PORT: '4000', ADMIN_PORT: '4000' }, /must differ/],
    [{ DRAIN_TIMEOUT_MS: '-1' }, /^DRAIN_TIMEOUT_MS must be an integer/],
    [{ SHUTDOWN_TIMEOUT_MS: '1000', DRAIN_TIMEOUT_MS: '5000' }, /^SHUTDOWN_TIMEOUT_MS \(1000\) must be larger than/],
    [{ REFERENCE_TEST_HOOKS: 'yes' }, /^REFERENCE_TEST_HOOKS must be 1 or 0/],
    [{ WORKERS: 'abc' }, /^WORKERS must be an integer from 1 to 64 \(1 runs a single process; more forks a cluster sharing the ports\), got "abc"\.$/],
    [{ WORKERS: '0' }, /^WORKERS must be an integer from 1 to 64 .*got "0"\.$/],
    [{ CLUSTER_TIMEOUT_MS: 'soon' }, /^CLUSTER_TIMEOUT_MS must be an integer/],
    [{ WORKER_CHILD: 'no' }, /^WORKER_CHILD must be 1 or 0/],
    [{ WORKER_CHILD: '0', WORKER_IGNORE_SIGTERM: '1' }, /^WORKER_IGNORE_SIGTERM=1 needs the worker child/],
  ]
  test.each(INVALID)('rejects %j with one line naming the variable', (env, message) => {
    let error: unknown
    try {
      readConfig(env)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).not.toMatch(/\n/)
  })
})

describe('openUsersDb (the users store)', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leakguard-users-'))
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  test('keeps what was created across a close and a reopen, and never reuses an id', async () => {
    const path = join(dir, 'users.json')
    const first = await openUsersDb(path)
    expect(first.list()).toEqual([])
    const ada = first.create({ name: 'Ada', email: 'ada@example.org' })
    first.create({ name: 'Grace' })
    expect(first.count()).toBe(2)
    expect(first.ping()).toBe(true)
    await Promise.all([first.close(), first.close()])
    expect(first.ping()).toBe(false)
    expect(() => first.list()).toThrow('The database connection is closed.')

    const second = await openUsersDb(path)
    expect(second.list()).toEqual([ada, expect.objectContaining({ id: 2, name: 'Grace', email: null })])
    expect(second.create({ name: 'Edsger' }).id).toBe(3)
    await second.close()
    // Written next to the file and renamed: no temporary file is left.
    expect(readdirSync(dir)).toEqual(['users.json'])
  })

  test(':memory: keeps nothing and writes nothing', async () => {
    const db = await openUsersDb(':memory:')
    db.create({ name: 'Ada' })
    await db.close()
    expect((await openUsersDb(':memory:')).count()).toBe(0)
  })

  test('a file it did not write, or a place it cannot write, fails the open with one line', async () => {
    const path = join(dir, 'users.json')
    writeFileSync(path, '{"users": "everyone"}')
    await expect(openUsersDb(path)).rejects.toThrow(/^\S+users\.json is not a users file of the reference server; move it away or set DATABASE_PATH to another file$/)
    writeFileSync(path, 'SQLite format 3\0')
    await expect(openUsersDb(path)).rejects.toThrow(/is not a users file/)
    await expect(openUsersDb(join(process.execPath, 'users.json'))).rejects.toMatchObject({ code: 'ENOTDIR' })
  })
})
