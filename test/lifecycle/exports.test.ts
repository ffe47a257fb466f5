// The entry point's promises: importing it changes nothing global, and src/lifecycle stays self-contained.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const SRC = join(import.meta.dirname, '..', '..', 'src')

test('importing leakguard/lifecycle installs no process handlers and starts nothing', async () => {
  const events = ['SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection', 'exit', 'beforeExit'] as const
  const before = events.map((e) => process.listenerCount(e))
  const resourcesBefore = process.getActiveResourcesInfo().length
  const lifecycle = await import('../../src/lifecycle.js')
  expect(events.map((e) => process.listenerCount(e))).toEqual(before)
  // Not more than before: one of the runner's own timers may fire while the import is transformed.
  expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(resourcesBefore)
  expect(Object.keys(lifecycle).sort()).toEqual([
    'ClusterCrashLoopError',
    'DependencyUnavailableError',
    'EXIT_DEPENDENCY_UNAVAILABLE',
    'EXIT_FAILURE',
    'EXIT_INVALID_CONFIG',
    'EXIT_OK',
    'EXIT_PORT_UNAVAILABLE',
    'ExitCode',
    'PortUnavailableError',
    'connectWithBackoff',
    'createChildRegistry',
    'createClusterPrimary',
    'createLifecycle',
    'createLifecycleServer',
    'createServerGroup',
  ])
  expect(lifecycle.ExitCode).toEqual({ OK: 0, FAILURE: 1, DEPENDENCY_UNAVAILABLE: 70, INVALID_CONFIG: 71, PORT_UNAVAILABLE: 72 })
  expect(Object.isFrozen(lifecycle.ExitCode)).toBe(true)
})

test('src/lifecycle imports only node builtins and its own files (never vitest)', () => {
  const files = ['lifecycle.ts', ...readdirSync(join(SRC, 'lifecycle')).map((f) => `lifecycle/${f}`)]
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8')
    const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!)
    const dynamic = [...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!)
    for (const specifier of [...specifiers, ...dynamic]) {
      const ok = specifier.startsWith('node:') || (file === 'lifecycle.ts' ? specifier.startsWith('./lifecycle/') : specifier.startsWith('./'))
      expect(ok, `${file} imports ${specifier}`).toBe(true)
    }
  }
})

// A service imports the lifecycle at start-up, every time: what it needs of node:cluster, node:child_process and
// node:os is loaded when first used, and the reference server (a single process, no worker child) loads none of them,
// nor node:crypto. Checked in a fresh process, on the built files.
test('importing leakguard/lifecycle or the reference server loads no builtin it does not use yet', () => {
  const root = join(import.meta.dirname, '..', '..')
  const loadedBy = (specifier: string): string[] => {
    const script = `await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(process.moduleLoadList))`
    const env = { ...process.env, NODE_OPTIONS: '' }
    const list = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env })) as string[]
    return ['cluster', 'child_process', 'os', 'crypto'].filter((name) => list.includes(`NativeModule ${name}`))
  }
  // What node:http, which the lifecycle needs, loads itself (on Node 24: os and crypto).
  const http = loadedBy('node:http')
  expect(loadedBy(join(root, 'dist/lifecycle.js')).filter((name) => !http.includes(name))).toEqual([])
  expect(loadedBy(join(root, 'dist/reference/server.js')).filter((name) => !http.includes(name))).toEqual([])
})
