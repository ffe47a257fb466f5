// Finding processes by a variable in their environment, through /proc.
import { expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { findByEnv, hasProcfs, isAlive } from '../../src/shared/procfs.js'

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
