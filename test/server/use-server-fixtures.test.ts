// useServer() under Vitest from code: stop is guaranteed when tests fail or time out, the
// fixture's own sockets are never a test's leak, and what the app leaks still is.
import { beforeAll, describe, expect, test } from 'vitest'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runFixtures, siteOf, type FixtureRun } from '../helpers/run-vitest.js'
import { refused } from '../helpers/net.js'

const DIR = join(import.meta.dirname, '..', 'fixtures', 'server')


let run: FixtureRun
let ports: number[]

beforeAll(async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'leakguard-ports-'))
  const portsFile = join(tmp, 'ports')
  try {
    run = await runFixtures(DIR, ['*.test.ts'], { env: { PORTS_FILE: portsFile } })
    ports = readFileSync(portsFile, 'utf8').trim().split('\n').map(Number)
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

describe('stop is guaranteed', () => {
  test('after a failing test and a timed-out test, every server port is closed', async () => {
    expect(run.tests.get('failing.test.ts > fails after using the server')?.state).toBe('failed')
    const timedOut = run.tests.get('failing.test.ts > times out while a request is in flight')!
    expect(timedOut.state).toBe('failed')
    expect(timedOut.errors.join('\n')).toMatch(/timed out/i)
    expect(ports).toHaveLength(3)
    for (const port of ports) expect(await refused(port), `port ${port}`).toBe(true)
  })

  test("the fixture's own server and client sockets are not reported as leaks", () => {
    expect(run.tests.get('failing.test.ts > fails after using the server')?.leaks).toEqual([])
    expect(run.tests.get('failing.test.ts > times out while a request is in flight')?.leaks).toEqual([])
    expect(run.files.get('failing.test.ts')?.leaks).toEqual([])
    expect(run.tests.get('app-leak.test.ts > a clean request')).toMatchObject({ state: 'passed', leaks: [] })
  })
})

test('what the app leaks while serving is still reported, at the handler', () => {
  const leaky = run.tests.get('app-leak.test.ts > a handler that leaks a timer')!
  expect(leaky.state).toBe('failed')
  expect(leaky.leaks).toHaveLength(1)
  expect(leaky.leaks[0]).toMatchObject({ kind: 'timer', description: 'setInterval every 1000 ms' })
  expect(leaky.leaks[0]!.site).toContain(siteOf(join(DIR, 'app-leak.test.ts'), 'handler-interval'))
})
