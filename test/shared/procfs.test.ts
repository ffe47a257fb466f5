// Finding processes by a variable in their environment, through /proc.
import { expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { findByEnv, findByEnvAsync, hasProcfs, isAlive, livePids } from '../../src/shared/procfs.js'

test.runIf(hasProcfs)('finds a live process by its environment, reads its other variables, and stops seeing it once gone', async () => {
  const marker = `m${process.pid}-${Date.now()}`
  const child = spawn('sleep', ['30'], { env: { ...process.env, PROCFS_TEST: marker, OTHER: 'x' }, stdio: 'ignore' })
  await once(child, 'spawn')
  try {
    const found = findByEnv('PROCFS_TEST', (value) => value === marker)
    expect(found.map((p) => [p.pid, p.command, p.env('OTHER')])).toEqual([[child.pid, 'sleep 30', 'x']])
    expect(findByEnv('PROCFS_TEST', (value) => value === 'someone else')).toEqual([])
    expect(isAlive(child.pid!)).toBe(true)
  } finally {
    child.kill()
    await once(child, 'close')
  }
  expect(isAlive(child.pid!)).toBe(false)
  expect(findByEnv('PROCFS_TEST', (value) => value === marker)).toEqual([])
})

test.runIf(hasProcfs)('the asynchronous search finds the same processes, but none it is told to skip', async () => {
  const marker = `a${process.pid}-${Date.now()}`
  const before = livePids()
  const children = [0, 1].map(() => spawn('sleep', ['30'], { env: { ...process.env, PROCFS_TEST: marker }, stdio: 'ignore' }))
  await Promise.all(children.map((child) => once(child, 'spawn')))
  const [first, second] = children.map((child) => child.pid!)
  try {
    expect(before.has(first!) || before.has(second!)).toBe(false)
    expect(livePids().has(first!)).toBe(true)
    const all = await findByEnvAsync('PROCFS_TEST', (value) => value === marker)
    expect(all.map((p) => p.pid).sort()).toEqual([first, second].sort())
    expect(all.map((p) => p.pid).sort()).toEqual(findByEnv('PROCFS_TEST', (value) => value === marker).map((p) => p.pid).sort())
    const skipped = await findByEnvAsync('PROCFS_TEST', (value) => value === marker, new Set([...before, first!]))
    expect(skipped.map((p) => [p.pid, p.command])).toEqual([[second, 'sleep 30']])
  } finally {
    for (const child of children) child.kill()
    await Promise.all(children.map((child) => once(child, 'close')))
  }
  expect(await findByEnvAsync('PROCFS_TEST', (value) => value === marker)).toEqual([])
})
