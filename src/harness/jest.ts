// The Jest harness: `setupFilesAfterEnv: ['leakguard/jest']` brackets every test and every test
// file with Jest's hooks (loading this module is the side effect), and writes what each file
// leaked into the run's folder, where `leakguard/jest-reporter` reads it back.
//
// Jest loads this module inside each test file's vm context, through the file's own module
// registry: it is evaluated once per test file, with that file's globals. The detector's state
// lives on the thread's process (see registry.ts), so the builtins are patched once per process
// and each file only patches its own globals (patchRealm, in openFile).
//
// The brackets. The file's opens when this module loads (before the test file does) and closes in
// an afterAll that runs after every other one. A test's opens in a beforeEach registered first
// (before every other beforeEach) and closes in an afterEach that runs after every other one.
// Jest runs after-hooks in the order they were declared, so the setup file's would run first:
// before the first test, leakguard's beforeAll moves its own hooks to the ends of the root block's
// list, in jest-circus's state (the same in Jest 29 and 30). In a file where no beforeEach or
// afterEach of the user's runs around a test, the two hooks leave the list instead and each test's
// body becomes its bracket (the same span, at a third of the cost). A concurrent test
// (`test.concurrent`) runs its body inside its own bracket and async context, always.
import type { Bracket } from '../detector/registry.js'
import type { ResolvedOptions } from '../detector/options.js'
import type { Leak } from '../detector/types.js'
import { runDirFromEnv, writeFileResult } from '../reporters/run-dir.js'
import { collect, contextStorage, leakError, leaveRealm, letGo, openFile, openTest } from './core.js'
import { disabledByEnv } from './env.js'
import * as localThread from './jest-thread.js'
import { threadProcess } from '../shared/thread-process.js'

declare const __leakguardUrl: string | undefined

/**
 * The worker's one-time set-up, from a copy of jest-thread loaded with Node's own require, in Node's realm: what it
 * makes outlives every test file (the detector's state, the patched builtins, the host's timers), and made from this
 * file's vm context it would keep that context alive after its file, which Jest's --detectLeaks reports as a leak.
 * This copy's, where that require cannot be had.
 */
function threadSetup(): typeof localThread {
  try {
    const url = typeof __leakguardUrl === 'string' ? __leakguardUrl : import.meta.url
    const { createRequire } = threadProcess().getBuiltinModule('node:module') as typeof import('node:module')
    return createRequire(url)('./jest-thread.cjs') as typeof localThread
  } catch {
    return localThread
  }
}

type AnyFn = (...args: any[]) => any
type Hook = (fn: AnyFn, timeout?: number) => void

interface CircusHook {
  readonly type: string
  readonly fn: AnyFn
  readonly timeout?: number
  readonly asyncError?: Error
  readonly seenDone?: boolean
}

/** What a hook runs, as jest-circus keeps it (Jest 29 and 30). */
function hookContents(h: CircusHook): Partial<CircusHook> {
  return { fn: h.fn, timeout: h.timeout, asyncError: h.asyncError, seenDone: h.seenDone }
}
interface CircusBlock {
  readonly type: 'describeBlock'
  readonly name: string
  readonly parent?: CircusBlock
  readonly children: (CircusBlock | CircusTest)[]
  readonly hooks: CircusHook[]
}
interface CircusTest {
  readonly type: 'test'
  readonly name: string
  readonly parent: CircusBlock
  readonly concurrent?: boolean
  readonly failing?: boolean
  readonly mode?: string
  fn?: AnyFn
}
interface CircusState {
  readonly rootDescribeBlock: CircusBlock
  readonly currentlyRunningTest: CircusTest | null
}

/** jest-circus keeps its state on the context's global under a symbol of its own (not registered). */
let stateSymbol: symbol | undefined
function circusState(): CircusState | null {
  const g = globalThis as unknown as Record<symbol, CircusState | undefined>
  // Found once per test file (this module is evaluated again for each): the state is read in
  // two hooks of every test.
  stateSymbol ??= Object.getOwnPropertySymbols(g).find((sym) => sym.description === 'JEST_STATE_SYMBOL')
  return stateSymbol ? (g[stateSymbol] ?? null) : null
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/**
 * The beforeEach Jest's adapter declares in every file (Jest 29 and 30), before any setup file: it resets modules and
 * mocks as the config asks, and makes no resource. Running before a test's bracket opens instead of inside it changes
 * nothing leakguard sees.
 */
function isJestsOwn(h: CircusHook): boolean {
  if (h.type !== 'beforeEach' || h.fn.name !== '') return false
  const source = Function.prototype.toString.call(h.fn)
  return source.includes('config.resetModules') && source.includes('runtime.resetAllMocks()')
}

/** A test body the sequential wrapper can stand in for: Jest calls both the same way and reads the same result. */
function wrappable(test: CircusTest): boolean {
  const fn = test.fn
  if (typeof fn !== 'function' || fn.length > 0 || test.failing) return false
  const kind = Object.getPrototypeOf(fn)?.constructor?.name
  return kind !== 'GeneratorFunction' && kind !== 'AsyncGeneratorFunction'
}

/** The test's full name as Vitest writes it: describe blocks joined with ` > `. */
function fullName(test: CircusTest): string {
  const names = [test.name]
  for (let b: CircusBlock | undefined = test.parent; b?.parent; b = b.parent) names.unshift(b.name)
  return names.join(' > ')
}

/**
 * Leakguard's own hooks run with this timeout, which Jest enforces with a timer that is active
 * while they run: the closing hook forgets that one timer (the runner's, not the test's).
 */
const HOOK_TIMEOUT = 120_017

function forgetHookTimer(b: Bracket): void {
  const last = b.records.at(-1)
  if (last?.kind === 'timer' && last.info.delay === HOOK_TIMEOUT) b.records.pop()
}

function install(options: ResolvedOptions): void {
  const g = globalThis as unknown as Record<string, Hook>
  const { beforeAll, beforeEach, afterEach, afterAll } = g
  const file = openFile()
  patchFileRealm()
  const found: { test: string | null; leak: Leak }[] = []
  const tests = new WeakMap<CircusTest, Bracket>()
  let testsChecked = 0

  /** Closes a test's bracket: the error that fails the test, or null. */
  const closeTest = async (test: CircusTest, b: Bracket): Promise<Error | null> => {
    tests.delete(test)
    testsChecked++
    const name = b.name ?? test.name
    const leaks = await collect(b, options)
    // Reported or allowed, what the test left no longer keeps the process (in band: Jest's) alive.
    await letGo(b)
    for (const leak of leaks) found.push({ test: name, leak })
    return leakError(leaks, 'test', options)
  }

  /** A concurrent test's body, in its own bracket and async context. */
  const wrapConcurrent = (test: CircusTest): void => {
    const fn = test.fn
    // A body that takes `done` is left alone: Jest reads its parameter count.
    if (typeof fn !== 'function' || fn.length > 0) return
    test.fn = function (this: unknown) {
      const b = openTest(fullName(test))
      tests.set(test, b)
      return contextStorage().run(b, async () => {
        let failure: { error: unknown } | null = null
        try {
          await fn.call(this)
        } catch (error) {
          failure = { error }
        }
        const leaked = await closeTest(test, b)
        if (failure) throw failure.error
        if (leaked) throw leaked
      })
    }
  }

  /** The wrapped test whose body has not settled yet, and how to close its bracket (once). */
  let running: { readonly close: () => Promise<Error | null> } | null = null
  /** Closes the bracket of a body Jest gave up on (its timeout), if there is one. */
  const closeStale = (): Promise<unknown> | undefined => {
    const stale = running
    running = null
    return stale?.close()
  }

  /**
   * A test's body in its own bracket, where no beforeEach or afterEach of the user's runs around it: the bracket then
   * covers what the two hooks would, without the two hook runs jest-circus makes per test (each with its dispatched
   * events and its timer), which cost more than the bracket itself. The closing runs within the test's timeout. A body
   * Jest gave up on (its timeout) is closed when the next test starts, or at the file's end, as leakguard's afterEach
   * would have closed it after the timeout: what it leaked is reported, and its neighbours do not overlap it.
   */
  const wrapSequential = (test: CircusTest): void => {
    const fn = test.fn!
    const run = function (this: unknown): unknown {
      const b = openTest(fullName(test))
      let closing: Promise<Error | null> | undefined
      const entry = { close: () => (closing ??= closeTest(test, b)) }
      running = entry
      const settle = () => {
        if (running === entry) running = null
        return entry.close()
      }
      let returned: unknown
      try {
        returned = fn.call(this)
      } catch (error) {
        returned = Promise.reject(error)
      }
      if (returned !== undefined && !isThenable(returned)) {
        // Jest fails a test that returns something else than a promise or undefined: that value goes back to it.
        settle().catch(() => {})
        return returned
      }
      return Promise.resolve(returned).then(
        async () => {
          const leaked = await settle()
          if (leaked) throw leaked
        },
        async (error: unknown) => {
          await settle()
          throw error
        },
      )
    }
    test.fn = function (this: unknown) {
      const stale = closeStale()
      return stale ? stale.then(() => run.call(this)) : run.call(this)
    }
  }

  async function closeFile(): Promise<void> {
    await closeStale()
    forgetHookTimer(file)
    const leaks = await collect(file, options)
    await letGo(file)
    leaveRealm()
    const dir = runDirFromEnv()
    const path = (g.expect as unknown as { getState(): { testPath?: string } } | undefined)?.getState().testPath
    if (dir && path) {
      writeFileResult(dir, { file: path, testsChecked, leaks: [...leaks.map((leak) => ({ test: null, leak })), ...found] })
    }
    const error = await leakError(leaks, 'file', options)
    if (error) throw error
  }

  const ours = new Set<AnyFn>()
  const own = (fn: AnyFn): AnyFn => (ours.add(fn), fn)

  beforeAll(
    own(function leakguardOrder() {
      const root = circusState()?.rootDescribeBlock
      if (!root) return
      // Every hook is declared by now (Jest refuses new ones once tests run): leakguard's
      // beforeEach goes first, its afterEach and afterAll last.
      // The root's afterAll hooks were listed, in this order, before the first beforeAll ran.
      const afterAlls = root.hooks.filter((h) => h.type === 'afterAll')
      const mine = root.hooks.filter((h) => ours.has(h.fn))
      const others = root.hooks.filter((h) => !ours.has(h.fn))
      const first = mine.filter((h) => h.type === 'beforeAll' || h.type === 'beforeEach')
      const last = mine.filter((h) => h.type === 'afterEach' || h.type === 'afterAll')
      root.hooks.splice(0, root.hooks.length, ...first, ...others, ...last)
      // Their contents move instead: leakguard's to the last of them.
      const at = afterAlls.findIndex((h) => h.fn === closeFile)
      if (at !== -1) {
        const contents = afterAlls.map(hookContents)
        const [moved] = contents.splice(at, 1)
        contents.push(moved!)
        afterAlls.forEach((h, i) => Object.assign(h, contents[i]))
      }
      const sequential: CircusTest[] = []
      let hooksAround = false
      const visit = (block: CircusBlock): void => {
        hooksAround ||= block.hooks.some((h) => (h.type === 'beforeEach' || h.type === 'afterEach') && !ours.has(h.fn) && !isJestsOwn(h))
        for (const child of block.children) {
          if (child.type === 'describeBlock') visit(child)
          else if (child.concurrent) wrapConcurrent(child)
          else if (child.mode !== 'skip' && child.mode !== 'todo') sequential.push(child)
        }
      }
      visit(root)
      // Without hooks of the user's around the tests, each test's body is its bracket, and leakguard's own beforeEach
      // and afterEach leave the root. They stay (for every test of the file) where a hook of the user's runs around a
      // test, or a test's body is one the wrapper would change for Jest: it takes `done`, is a generator, or is
      // expected to fail (`test.failing` turns the body's error, a leak's included, into a pass).
      if (!hooksAround && sequential.every(wrappable)) {
        const each = new Set<AnyFn>([leakguardOpenTest, leakguardCloseTest])
        root.hooks.splice(0, root.hooks.length, ...root.hooks.filter((h) => !each.has(h.fn)))
        sequential.forEach(wrapSequential)
      }
    }),
    HOOK_TIMEOUT,
  )

  function leakguardOpenTest(): void {
    const test = circusState()?.currentlyRunningTest
    if (!test || test.concurrent) return
    tests.set(test, openTest(fullName(test)))
  }

  async function leakguardCloseTest(): Promise<void> {
    const test = circusState()?.currentlyRunningTest
    const b = test && !test.concurrent ? tests.get(test) : undefined
    if (!test || !b) return
    forgetHookTimer(b)
    const error = await closeTest(test, b)
    if (error) throw error
  }

  beforeEach(own(leakguardOpenTest), HOOK_TIMEOUT)
  afterEach(own(leakguardCloseTest), HOOK_TIMEOUT)

  afterAll(own(closeFile), HOOK_TIMEOUT)
}

/**
 * This file's own timers: Jest gives a file's global the host's setTimeout (leakguard's quiet
 * one, from the second file on): the file's are tracked. A DOM window's count their calls.
 */
function patchFileRealm(): void {
  const g = globalThis as unknown as Record<string, AnyFn & { [localThread.QUIET]?: AnyFn }>
  for (const name of ['setTimeout', 'setInterval']) {
    const tracked = g[name]?.[localThread.QUIET]
    if (tracked) g[name] = tracked
  }
  const w = (globalThis as unknown as { window?: Record<string, AnyFn> }).window
  if (!w) return
  const calls = localThread.domCalls()
  for (const name of ['setTimeout', 'setInterval']) {
    const fn = w[name]
    if (typeof fn !== 'function') continue
    const counted = function (this: unknown, ...args: unknown[]) {
      calls.n++
      try {
        return fn.apply(this, args)
      } finally {
        calls.n--
      }
    }
    Object.defineProperty(counted, 'name', { value: name })
    w[name] = counted
  }
}

if (!disabledByEnv()) {
  // A bad config throws a ConfigError, whose stack is its one line.
  install(threadSetup().setUpThread())
}

