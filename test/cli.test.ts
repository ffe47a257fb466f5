// The leakguard command itself: help, version, and bad input as one line with exit code 2.
import { describe, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './helpers/run-vitest.js'

async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'leakguard.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => (stdout += c))
  child.stderr.on('data', (c) => (stderr += c))
  const [code] = await once(child, 'close')
  return { code, stdout, stderr }
}

describe('leakguard', () => {
  test('--version prints the package version', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  })

  test('--help lists the commands', async () => {
    const r = await cli('--help')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Usage: leakguard <command>/)
    expect(r.stdout).toMatch(/\n  gate +exit 1 when a leak report has leaks outside the baseline\n/)
  })

  test('no command prints the help and exits 2', async () => {
    const r = await cli()
    expect(r.code).toBe(2)
    expect(r.stdout).toMatch(/^Usage: leakguard/)
  })

  test('an unknown command is one line naming the fix, exit 2', async () => {
    const r = await cli('gait')
    expect(r).toMatchObject({ code: 2, stdout: '' })
    expect(r.stderr).toMatch(/^leakguard: unknown command `gait`; run `leakguard --help` for the list \(gate/)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })
})
