// The Jest harness's set-up for a whole worker, run once per worker: the options, the detector armed (the builtins
// patched), and the host realm's timers. The harness loads this file with Node's own require (as jest-thread.cjs),
// not through Jest's module registry, so that what it makes belongs to Node's realm and not to the first test file's
// vm context (see threadSetup in jest.ts).
import type { ResolvedOptions } from '../detector/options.js'
import { state as detectorState } from '../detector/registry.js'
import { threadProcess } from '../shared/thread-process.js'
import { readConfigFile } from './config-file.js'
import { arm } from './core.js'

type AnyFn = (...args: any[]) => any

/** Reads the options (once per process) and arms the detector; a bad config throws a ConfigError. */
export function setUpThread(): ResolvedOptions {
  const options = readOptions()
  arm('jest')
  protectTimers()
  // Made here, in Node's realm, whether or not the host's timers need it: each file's copy reads it.
  domCalls()
  quietHostRealm()
  return options
}

/** Options from leakguard.config.json, read once per process. */
const OPTIONS = Symbol.for('leakguard.jest.options')
function readOptions(): ResolvedOptions {
  const thread = threadProcess() as unknown as Record<symbol, ResolvedOptions | undefined>
  return (thread[OPTIONS] ??= readConfigFile(process.cwd()).options)
}

/**
 * Jest 30 clears what a test file set on its global once the file is done (`globalsCleanup`),
 * property by property: leakguard's setTimeout and setInterval, which every file's global gets,
 * are marked as Jest's own globals are, so that later files find them whole.
 */
function protectTimers(): void {
  const timers = detectorState().timers
  if (!timers) return
  for (const fn of [timers.setTimeout, timers.setInterval]) {
    if (!Object.prototype.hasOwnProperty.call(fn, JEST_PROTECT)) Object.defineProperty(fn, JEST_PROTECT, { value: [] })
  }
}
const JEST_PROTECT = Symbol.for('$$jest-protect-from-deletion')

/** How many DOM window timer calls are in progress in this thread (shared by every test file). */
const DOM_CALLS = Symbol.for('leakguard.jest.domCalls')
export function domCalls(): { n: number } {
  const thread = threadProcess() as unknown as Record<symbol, { n: number } | undefined>
  return (thread[DOM_CALLS] ??= { n: 0 })
}

/**
 * The host realm (outside the test files' vm contexts) is Jest's own: its reporters set timers
 * there while a test runs in band. Only a DOM window's timers (jsdom calls the host's setTimeout
 * underneath) are the test's: the host's setTimeout and setInterval track a timer only then.
 */
function quietHostRealm(): void {
  const t = detectorState().timers
  if (!t) return
  const host = process.getBuiltinModule('node:vm').runInThisContext('globalThis') as Record<string, AnyFn>
  const calls = domCalls()
  const pairs = [['setTimeout', t.setTimeout, t.originals[0]], ['setInterval', t.setInterval, t.originals[1]]] as const
  for (const [name, tracked, original] of pairs) {
    if (host[name] !== tracked || !original) continue
    const quiet = function (this: unknown, ...args: unknown[]) {
      return (calls.n > 0 ? tracked : original).apply(this, args)
    }
    Object.defineProperty(quiet, 'name', { value: name })
    Object.defineProperty(quiet, QUIET, { value: tracked })
    Object.defineProperty(quiet, JEST_PROTECT, { value: [] })
    host[name] = quiet
  }
}

export const QUIET = Symbol.for('leakguard.jest.quiet')

