// createClusterPrimary in real processes: a fixture primary forks two workers (the same file), the ready handshake
// is a line on stderr, then signals and kills, and assertions on the exit code, the output and which pids are left.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { createClusterPrimary } from '../../src/lifecycle.js'
import { collect, get, isDead, within } from './helpers.js'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'cluster.mjs')

interface Run {
  readonly child: ChildProcess
  readonly err: ReturnType<typeof collect>
  readonly closed: Promise<[number | null, NodeJS.Signals | null]>
}

/**
 * Runs the fixture primary in its own process group (its workers join it), gives it to `body`, and SIGKILLs the
 * whole group afterwards whatever happened, so no worker outlives a failing test.
 */
async function withPrimary(mode: string, body: (run: Run) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [FIXTURE, mode], { stdio: ['ignore', 'ignore', 'pipe'], detached: true })
  const err = collect(child.stderr!)
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  try {
    await body({ child, err, closed })
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // The group is gone already.
    }
    await closed
  }
}

async function ready(run: Run): Promise<{ port: number; pids: number[] }> {
  const line = await within(run.err.waitFor(/ready \d+ \d+ \d+\n/), 15_000, `no ready line; stderr:\n${run.err.text()}`)
  const [port, ...pids] = line.trim().split(' ').slice(1).map(Number)
  return { port: port!, pids }
}

describe('createClusterPrimary', () => {
  test('forks the workers, is ready when each listens, they share the port, and SIGTERM disconnects them all: exit 0', async () => {
    await withPrimary('plain', async (run) => {
      const { port, pids } = await ready(run)
      expect(pids).toHaveLength(2)
      const answered = new Set<number>()
      for (let i = 0; i < 8 && answered.size < 2; i++) answered.add(Number((await get(`http://127.0.0.1:${port}/`)).body))
      expect([...answered].sort()).toEqual([...pids].sort())
      run.child.kill('SIGTERM')
      const [code] = await within(run.closed, 10_000, 'the primary did not exit after SIGTERM')
      expect(code).toBe(0)
      expect(run.err.text()).toContain(`Asked 2 worker(s) to disconnect (${pids.join(', ')})`)
      expect(run.err.text().match(/The primary asked this worker to disconnect/g)).toHaveLength(2)
      expect(run.err.text()).toMatch(/stopped: exit 0, killed \[\], exits \d+:0:null:true \d+:0:null:true/)
      for (const pid of pids) expect(isDead(pid), `worker ${pid}`).toBe(true)
    })
  })

  test('a worker that dies while open is respawned into its slot, with a delay that doubles', async () => {
    await withPrimary('plain', async (run) => {
      const { port, pids } = await ready(run)
      process.kill(pids[0]!, 'SIGKILL')
      const first = await within(run.err.waitFor(/Worker \d+ is listening \(slot \d, replacing \d+\)/), 10_000, run.err.text())
      expect(run.err.text()).toContain(`Worker ${pids[0]} (slot 0) exited unexpectedly (SIGKILL); respawning in 100 ms.`)
      const replacement = Number(/Worker (\d+)/.exec(first)![1])
      expect(first).toBe(`Worker ${replacement} is listening (slot 0, replacing ${pids[0]})`)
      // The replacement serves: within a few requests round-robin reaches it.
      const answered = new Set<number>()
      for (let i = 0; i < 8 && !answered.has(replacement); i++) answered.add(Number((await get(`http://127.0.0.1:${port}/`)).body))
      expect(answered).toContain(replacement)
      process.kill(replacement, 'SIGKILL')
      await within(run.err.waitFor(`Worker ${replacement} (slot 0) exited unexpectedly (SIGKILL); respawning in 200 ms.`), 10_000, run.err.text())
      await within(run.err.waitFor(new RegExp(`is listening \\(slot 0, replacing ${replacement}\\)`)), 10_000, run.err.text())
      run.child.kill('SIGTERM')
      const [code] = await within(run.closed, 10_000, 'the primary did not exit after SIGTERM')
      expect(code).toBe(0)
    })
  })

  test('workers that crash at start-up over and over: it gives up with a clear error and exit code 1', async () => {
    await withPrimary('crash', async (run) => {
      const [code] = await within(run.closed, 15_000, `the primary did not give up; stderr:\n${run.err.text()}`)
      const text = run.err.text()
      expect(code).toBe(1)
      expect(text).toMatch(/exited unexpectedly \(code 3, before it was listening\); respawning in 10 ms\./)
      expect(text).toMatch(/exited unexpectedly \(code 3, before it was listening\); respawning in 20 ms\./)
      expect(text).toMatch(/Workers crashed 3 times within 30000 ms \(the last, pid \d+, exited with code 3, before it was listening\); giving up/)
      expect(text).toContain('start rejected: ClusterCrashLoopError (exitCode 1)')
      // Two crashes respawned, the third gives up: the respawn still pending is cancelled, nothing else forks.
      expect(text.match(/exited unexpectedly/g)).toHaveLength(2)
      expect(text.match(/giving up/g)).toHaveLength(1)
    })
  })

  test('a worker that ignores the disconnect is SIGKILLed at the deadline and named; exit 1, nothing left', async () => {
    await withPrimary('stubborn', async (run) => {
      const { pids } = await ready(run)
      run.child.kill('SIGTERM')
      const [code] = await within(run.closed, 10_000, 'the primary did not exit after SIGTERM')
      const text = run.err.text()
      expect(code).toBe(1)
      const killed = /Worker\(s\) (\d+) still running 300 ms after the disconnect; sent SIGKILL\./.exec(text)
      expect(killed, text).not.toBeNull()
      expect(pids).toContain(Number(killed![1]))
      expect(text).toContain(`stopped: exit 1, killed [${killed![1]}]`)
      for (const pid of pids) expect(isDead(pid), `worker ${pid}`).toBe(true)
    })
  })

  test.each([
    ['while the primary disconnects it', 'late'],
    ['after its channel to the primary closed', 'later'],
  ])('a worker that calls listen() %s gives up its start and exits 0 at once', async (_, mode) => {
    // The primary ignores a listen() request from a worker it is disconnecting, so that start must not wait for it.
    await withPrimary(mode, async (run) => {
      await within(run.err.waitFor(/listening \d+\n/), 15_000, run.err.text())
      await within(run.err.waitFor(/waiting \d+\n/), 15_000, run.err.text())
      const stopAt = Date.now()
      run.child.kill('SIGTERM')
      const [code] = await within(run.closed, 10_000, 'the primary did not exit after SIGTERM')
      const text = run.err.text()
      expect(code, text).toBe(0)
      expect(Date.now() - stopAt, text).toBeLessThan(2_500) // the primary's deadline is 3 s: nothing waited for it
      expect(text).toContain('late start rejected: The cluster primary disconnected this worker before its server was listening.')
      expect(text).toMatch(/stopped: exit 0, killed \[\]/)
    })
  })

  test('bad options are rejected with the option named', () => {
    expect(() => createClusterPrimary({ workers: 0 })).toThrow(/`workers` must be an integer from 1/)
    expect(() => createClusterPrimary({ workers: 1.5 })).toThrow(RangeError)
    expect(() => createClusterPrimary({ timeout: -1 })).toThrow(/`timeout`/)
    expect(() => createClusterPrimary({ respawn: { maxCrashes: 0 } })).toThrow(/`respawn\.maxCrashes`/)
    expect(() => createClusterPrimary({ env: 'PORT=1' as never })).toThrow(/`env` must be an object/)
  })
})
