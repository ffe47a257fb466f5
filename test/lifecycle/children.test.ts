// createChildRegistry: process groups, SIGTERM then SIGKILL, outcome from exitCode/signalCode, 'close' awaited.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { afterEach, expect, test } from 'vitest'
import { createChildRegistry, createLifecycle, type ChildRegistry } from '../../src/lifecycle.js'
import { collect, diesWithin, isDead } from './helpers.js'

const FIXTURE = join(import.meta.dirname, 'fixtures', 'child.mjs')

// Whatever a failing test leaves running is closed here, so no child outlives its test.
const registries = new Set<ChildRegistry>()
afterEach(async () => {
  for (const registry of registries) await registry.closeAll({ timeout: 500 })
  registries.clear()
})
function newRegistry(): ChildRegistry {
  const registry = createChildRegistry({ logger: false })
  registries.add(registry)
  return registry
}

async function spawnReady(registry: ChildRegistry, mode: string): Promise<{ child: ChildProcess; pids: number[]; out: ReturnType<typeof collect> }> {
  const child = registry.spawn(process.execPath, [FIXTURE, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
  const out = collect(child.stdout!)
  const line = await out.waitFor(/ready[\d ]+\n/)
  return { child, pids: line.trim().split(' ').slice(1).map(Number), out }
}

test('spawn() puts the child in its own process group and tracks it until close', async () => {
  const registry = newRegistry()
  const { child, pids } = await spawnReady(registry, 'plain')
  expect(pids[0]).toBe(child.pid)
  expect(registry.size).toBe(1)
  if (process.platform === 'linux') {
    const pgid = Number(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2])
    expect(pgid).toBe(child.pid)
  }
  const [exit] = await registry.closeAll()
  expect(exit).toEqual({ pid: child.pid, exitCode: null, signalCode: 'SIGTERM', forced: false })
  expect(registry.size).toBe(0)
  // Closing again answers from what is known; no signal is sent to a recycled pid.
  await expect(registry.close(child)).resolves.toEqual(exit)
})

test('a child that ignores SIGTERM gets SIGKILL after the timeout', async () => {
  const registry = newRegistry()
  const { child } = await spawnReady(registry, 'stubborn')
  const exit = await registry.close(child, { timeout: 150 })
  expect(exit).toMatchObject({ exitCode: null, signalCode: 'SIGKILL', forced: true })
})

test('the whole group is signalled: a grandchild holding the pipe dies too, so close arrives', async () => {
  const registry = newRegistry()
  const { child, pids, out } = await spawnReady(registry, 'parent')
  await out.waitFor('grandchild up')
  const grandchild = pids[1]!
  expect(isDead(grandchild)).toBe(false)
  const exit = await registry.close(child, { timeout: 2_000 })
  expect(exit).toMatchObject({ signalCode: 'SIGTERM', forced: false })
  expect(await diesWithin(grandchild)).toBe(true)
})

test('a command that cannot start still settles', async () => {
  const registry = newRegistry()
  const child = registry.spawn('/nonexistent/leakguard-test-binary')
  const errored = new Promise((resolve) => child.once('error', resolve))
  const [exit] = await registry.closeAll()
  expect(await errored).toMatchObject({ code: 'ENOENT' })
  expect(exit).toMatchObject({ pid: undefined, signalCode: null, forced: false })
  expect(registry.size).toBe(0)
})

test('works as a lifecycle closer', async () => {
  const registry = newRegistry()
  const lifecycle = createLifecycle({ logger: false })
  const { child } = await spawnReady(registry, 'plain')
  lifecycle.onClose(() => registry.closeAll({ timeout: 1_000 }), { name: 'children' })
  const result = await lifecycle.close()
  expect(result.failed).toEqual([])
  expect(child.signalCode).toBe('SIGTERM')
  expect(registry.size).toBe(0)
})

test('an exit listener (SIGKILL for forced exits) exists only while the registry has live children', async () => {
  const before = process.listenerCount('exit')
  const registry = newRegistry()
  expect(process.listenerCount('exit')).toBe(before)
  await spawnReady(registry, 'plain')
  await spawnReady(registry, 'plain')
  expect(process.listenerCount('exit')).toBe(before + 1)
  await registry.closeAll({ timeout: 1_000 })
  expect(process.listenerCount('exit')).toBe(before)
  // A child that never started leaves nothing behind either.
  registry.spawn('/nonexistent/leakguard-test-binary').once('error', () => {})
  await registry.closeAll()
  expect(process.listenerCount('exit')).toBe(before)
})

test('close() refuses a child it did not spawn', () => {
  const registry = newRegistry()
  expect(() => registry.close({} as ChildProcess)).toThrow(/not spawned by this registry/)
})
