// A run whose globalSetup leaves a server and a timer in Vitest's main process: the real Vitest CLI
// times out its teardown, and the reporter says what keeps the process alive and where it was made.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { FIXTURES, removeDir, tempDir } from './helpers.js'
import { vitestAtLeast } from '../helpers/vitest-version.js'

const HANG = join(FIXTURES, 'hang')
const VITEST_BIN = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs')

let dir: string
let output = ''
let code: number | null = null
let report: { leaks: unknown[] } | null = null

beforeAll(async () => {
  dir = tempDir()
  // The outer Vitest's variables would make the inner CLI think it runs inside a worker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')))
  const child = spawn(process.execPath, [VITEST_BIN, 'run', '--root', HANG], {
    env: { ...env, NO_COLOR: '1', LEAKGUARD_TEST_OUTPUT: join(dir, 'report.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  ;[code] = (await once(child, 'close')) as [number | null]
  report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { leaks: unknown[] }
})
afterAll(() => removeDir(dir))

test('the run itself passes, with no leak in the tests', () => {
  expect(code, output).toBe(0)
  expect(report?.leaks).toEqual([])
})

test('names what keeps the main process alive and where it was created', () => {
  const line = readFileSync(join(HANG, 'global-setup.mjs'), 'utf8').split('\n').findIndex((l) => l.includes('server.listen(')) + 1
  const start = output.indexOf("[leakguard] Vitest's main process is still kept alive after the run by:")
  expect(start, output).toBeGreaterThan(-1)
  const block = output.slice(start).split('\n')
  expect(block[1]).toMatch(/^ {2}- server: HTTP server listening on 127\.0\.0\.1:\d+$/)
  // Vitest 3 runs globalSetup through vite-node, whose stack traces in the main process are not
  // source-mapped: the file is right, the line is one of the transformed code (README, Limits).
  const at = vitestAtLeast(4) ? String(line) : '\\d+'
  expect(block[2]).toMatch(new RegExp(`^ {4}created at global-setup\\.mjs:${at}:\\d+$`))
  expect(block[3]).toBe('    Close the server with `server.close()` in the globalSetup teardown.')
  // Timers have no creation site in the main process: said so, not guessed.
  expect(block[4]).toBe('  - timer: 1 timer (setTimeout/setInterval)')
  expect(block[5]).toBe('    created at an unknown place')
  // Printed before Vitest gives up and exits.
  expect(output.indexOf('close timed out after')).toBeGreaterThan(start)
})
