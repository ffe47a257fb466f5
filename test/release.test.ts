// Every kind, released the ways users release it (awaited, not awaited, after an await, from a
// close handler, after a sync test returned): never a leak, under either harness and pool.
import { beforeAll, describe, expect, test } from 'vitest'
import { join } from 'node:path'
import { HARNESS_RUNS, harnessOptions, runFixtures, type FixtureRun } from './helpers/run-vitest.js'

const DIR = join(import.meta.dirname, 'fixtures', 'release')
const KINDS = [
  'timeout', 'interval', 'http server', 'net server', 'TCP socket', 'TLS socket', 'HTTP/2 session', 'UDP socket',
  'child process', 'worker', 'file descriptor', 'FileHandle', 'file stream', 'directory handle', 'fs.watch watcher',
  'fs.watchFile listener', 'message port',
]
const WAYS = ['released awaited', 'released not awaited', 'released after an await', 'released from a close handler', 'made and released in a sync test']

describe.each(HARNESS_RUNS)('$pool pool, $harness harness', ({ pool, harness }) => {
  let run: FixtureRun
  beforeAll(async () => {
    run = await runFixtures(DIR, ['*.test.ts'], {
      pool,
      ...harnessOptions(harness),
      // A child or a worker that a test starts and stops after returning can take longer than the
      // default 100 ms on a loaded machine; a clean test pays only for what it really waits.
      leakguard: { settleMs: 1000 },
    })
  })

  test.each(KINDS)('%s: no way of releasing it is a leak', (kind) => {
    for (const way of WAYS) {
      const o = run.tests.get(`release.test.ts > ${kind} > ${way}`)
      expect(o, `${kind} > ${way}`).toBeDefined()
      expect({ way, state: o!.state, leaks: o!.leaks, errors: o!.errors }).toEqual({ way, state: 'passed', leaks: [], errors: [] })
    }
  })

  test('the file leaks nothing either, and every test ran', () => {
    expect(run.files.get('release.test.ts')?.leaks).toEqual([])
    expect(run.tests.size).toBe(KINDS.length * WAYS.length)
    expect(run.report.leaks).toEqual([])
  })
})
