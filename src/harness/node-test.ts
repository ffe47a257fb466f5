// The node:test harness: `node --test --import leakguard/node-test`. Node runs each test file in a
// process of its own (with `--test-isolation=none`, all of them in the one process); this module
// loads in each, before the file. A test's bracket opens where node:test first calls into the test
// (its first beforeEach hook, or its function: see patchScopes) and closes in a root-level afterEach
// of leakguard's, registered before the file's own and called directly (see runDirectly), so a
// test's bracket covers its hooks too; a leak fails the test from there (or from a `t.after` it
// adds). A root-level `after` closes the file's bracket when the file's tests are
// done, writes the file's result into the run's folder and, holding the folder's lock, the report
// of every file finished so far: the last process to finish writes the whole run's.
//
// The `node --test` process itself does not load `--import` modules (Node 20 to 24): a run is
// known to its test processes as their parent's pid and start time. A process that a test forks
// inherits the flag and the environment; it runs no tests, and its parent is not `node --test`,
// so it arms nothing.
import { relative, resolve } from 'node:path'
import type { ResolvedOptions } from '../detector/options.js'
import { state } from '../detector/registry.js'
import type { Leak } from '../detector/types.js'
import { mergeRun, pruneRuns, runDirAt, writeFileResult } from '../reporters/run-dir.js'
import { argsOf, hasProcfs, isAlive, startTimeOf } from '../shared/procfs.js'
import { ConfigError, readConfigFile } from './config-file.js'
import { arm, closeIfClean, collect, contextStorage, leakError, letGo, openFile, openTest, type Bracket } from './core.js'
import { disabledByEnv } from './env.js'

type NodeTest = typeof import('node:test')
/** What the hooks receive: a test's context (its name, full name and, from Node 22, file). */
interface TestContext {
  readonly name: string
  readonly fullName?: string
  readonly filePath?: string
  /** A hook of this test's own, run after every afterEach hook (on every test's context since Node 18.13). */
  readonly after?: (fn: () => unknown) => void
}

interface Run {
  readonly id: string
  /** All files run in this process (`--test-isolation=none`). */
  readonly inProcess: boolean
}

function processId(pid: number): string {
  return `${pid}-${startTimeOf(pid) ?? 'x'}`
}

function isolationNone(execArgv: readonly string[]): boolean {
  return execArgv.some(
    (a, i) =>
      /^--(experimental-)?test-isolation=none$/.test(a) ||
      (/^--(experimental-)?test-isolation$/.test(a) && execArgv[i + 1] === 'none'),
  )
}

/** Which run this process's tests belong to, or null when it runs none. */
export function findRun(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): Run | null {
  if (env.NODE_TEST_CONTEXT) {
    // A test file's process: its parent is `node --test`. Where /proc is missing, the variable alone says so.
    if (hasProcfs && !argsOf(process.ppid).includes('--test')) return null
    return { id: processId(process.ppid), inProcess: false }
  }
  if (execArgv.includes('--test') && isolationNone(execArgv)) return { id: processId(process.pid), inProcess: true }
  return null
}

/** A run's id names the `node --test` process: the run is over once that process is gone. */
function runIsOver(id: string): boolean {
  const m = /^(\d+)-(.+)$/.exec(id)
  if (!m) return true
  const pid = Number(m[1])
  return !isAlive(pid) || (m[2] !== 'x' && startTimeOf(pid) !== m[2])
}

interface FileRecord {
  testsChecked: number
  readonly leaks: { test: string | null; leak: Leak }[]
}

type HookFn = (...args: unknown[]) => unknown
/** A node:test Test, Suite or hook, as far as leakguard reads it. */
interface ScopeOwner {
  readonly constructor: { readonly name?: string }
  readonly parent?: { readonly concurrency?: number } | null
  /** A hook's type ('before', 'beforeEach', ...); undefined on tests and suites. */
  readonly hookType?: string
  readonly skipped?: boolean
}
/** A test (not a hook) whose siblings may run alongside it. */
function runsConcurrently(owner: ScopeOwner): boolean {
  return owner.constructor.name !== 'TestHook' && (owner.parent?.concurrency ?? 1) > 1
}
/** The call that begins a test's run: its first beforeEach hook's, or its own function's (not a suite's, a skipped test's or another hook's). */
function startsTest(owner: ScopeOwner): boolean {
  if (owner.hookType !== undefined) return owner.hookType === 'beforeEach'
  return owner.constructor.name === 'Test' && owner.parent != null && !owner.skipped
}
function isContext(value: unknown): value is TestContext {
  return typeof value === 'object' && value !== null && typeof (value as TestContext).name === 'string'
}

/** node:test's Test prototype, from one of its objects (a test, a suite or a hook). */
function testPrototypeOf(value: unknown): Record<string, unknown> | null {
  let proto = value == null ? null : (Object.getPrototypeOf(value) as Record<string, unknown> | null)
  while (proto && (proto.constructor as { name?: string } | undefined)?.name !== 'Test') proto = Object.getPrototypeOf(proto) as Record<string, unknown> | null
  return proto
}

/**
 * The first node:test object (test, suite or hook) that `fn` makes and `accept` takes: an async resource, seen by an
 * async hook on for that call only. (Registering the first hook also makes the root test.)
 */
function madeDuring(fn: () => void, accept: (made: Record<string, unknown>) => boolean = () => true): Record<string, unknown> | null {
  let found: Record<string, unknown> | null = null
  const { createHook } = process.getBuiltinModule('node:async_hooks')
  const hook = createHook({
    init(_id, _type, _trigger, resource) {
      if (!found && testPrototypeOf(resource) && accept(resource as Record<string, unknown>)) found = resource as Record<string, unknown>
    },
  }).enable()
  try {
    fn()
  } finally {
    hook.disable()
  }
  return found
}

/**
 * Has node:test call leakguard's afterEach hook directly. node:test runs a hook nearly as it runs a test (an abort
 * signal, a timeout race, its function in the hook's async scope, then its own bookkeeping), for every test; its
 * `runHook` only awaits `hook.run({ ctx })` and turns what that throws into the test's failure ("failed running
 * afterEach hook"), so leakguard's hook gives it a `run` of its own that calls the function with the test's context.
 * Left as it is where the hook or its arguments are not what Node 20 to 24 make.
 */
function runDirectly(hook: Record<string, unknown> | null, fn: (t: TestContext) => unknown): boolean {
  if (!hook || hook.hookType !== 'afterEach' || typeof hook.run !== 'function') return false
  const run = hook.run as (this: unknown, args: unknown) => unknown
  hook.run = function (this: unknown, args: { readonly ctx?: unknown } | undefined) {
    const ctx = args?.ctx
    return isContext(ctx) ? fn(ctx) : run.call(this, args)
  }
  return true
}

/** node:test's tests, suites and hooks are async resources of these classes. */
const RUNNER_RESOURCES = new Set(['Test', 'Suite', 'TestHook'])

/** Runs a hook the way node:test would: awaited, or through its `done` callback when it takes one. */
function runHook(fn: HookFn, ctx: unknown): Promise<unknown> {
  if (fn.length < 2) return Promise.resolve().then(() => fn(ctx))
  return new Promise((resolve, reject) => fn(ctx, (error?: unknown) => (error ? reject(error) : resolve(undefined))))
}

/** Runs hooks in order; all of them run, the first error is returned. */
async function runHooks(hooks: readonly HookFn[], ctx: unknown): Promise<unknown> {
  let first: unknown = null
  for (const fn of hooks) {
    try {
      await runHook(fn, ctx)
    } catch (error) {
      first ??= error
    }
  }
  return first
}

/** Where node:test's reporters write (`--test-reporter-destination`), made absolute. */
export function reporterFiles(execArgv: readonly string[], cwd: string): string[] {
  const files: string[] = []
  execArgv.forEach((a, i) => {
    const value = a.startsWith('--test-reporter-destination=') ? a.slice(a.indexOf('=') + 1) : a === '--test-reporter-destination' ? execArgv[i + 1] : undefined
    if (value && value !== 'stdout' && value !== 'stderr') files.push(resolve(cwd, value))
  })
  return files
}

function start(run: Run, options: ResolvedOptions, outputFile: string): void {
  arm('node-test')
  // With every file in this process, node:test's reporters write from it too: their files are its own.
  if (run.inProcess) for (const f of reporterFiles(process.execArgv, process.cwd())) state().runnerFiles.add(f)
  const root = process.cwd()
  const startedAt = new Date().toISOString()
  const file = openFile()
  const files = new Map<string, FileRecord>()
  const open = new Map<TestContext, Bracket>()
  const fileOf = (t: TestContext | null): string => t?.filePath ?? process.argv[1] ?? '(unknown file)'
  const recordFor = (path: string): FileRecord => {
    let r = files.get(path)
    if (!r) files.set(path, (r = { testsChecked: 0, leaks: [] }))
    return r
  }
  if (!run.inProcess) recordFor(fileOf(null))
  const fullName = (t: TestContext): string => t.fullName ?? t.name
  const otherTypes = new Set<string>()

  // node:test runs hooks of one level in the order they were added, so the file's own root-level
  // after and afterEach hooks would run after leakguard's. They are taken over instead, and run
  // first by leakguard's: the brackets close after every hook of the file, as under Vitest.
  // node:test's ES module takes the functions when it is first imported, which is after this
  // (leakguard loads node:test only as its CommonJS object); syncBuiltinESMExports does not reach
  // one made before.
  const nodeTest = process.getBuiltinModule('node:test') as Record<string, HookFn> & NodeTest
  const { after, afterEach, beforeEach } = nodeTest
  const rootAfter: HookFn[] = []
  const rootAfterEach: HookFn[] = []
  // Where node:test puts a hook: on the suite or test whose callback is running, else on the root.
  // (Wrapping describe() or test() to know it would change the location node:test reports.)
  const { executionAsyncResource } = process.getBuiltinModule('node:async_hooks')
  const atRoot = (): boolean => !RUNNER_RESOURCES.has(executionAsyncResource()?.constructor?.name ?? '')
  nodeTest.after = function (this: unknown, fn: HookFn, ...rest: unknown[]) {
    if (atRoot() && typeof fn === 'function') return void rootAfter.push(fn)
    return after.call(this, fn, ...(rest as []))
  } as NodeTest['after']
  nodeTest.afterEach = function (this: unknown, fn: HookFn, ...rest: unknown[]) {
    if (atRoot() && typeof fn === 'function') return void rootAfterEach.push(fn)
    return afterEach.call(this, fn, ...(rest as []))
  } as NodeTest['afterEach']

  /** Opens a test's bracket, inside its nearest open ancestor's (a subtest runs inside its test, which waits for it). */
  const openFor = (t: TestContext): Bracket => {
    const name = fullName(t)
    let parent: Bracket | null = null
    for (const [other, b] of open) if (name.startsWith(`${fullName(other)} > `) && (!parent || b.id > parent.id)) parent = b
    const bracket = openTest(name, parent)
    open.set(t, bracket)
    return bracket
  }

  // node:test calls a test's function, and each of its hooks, as `runInAsyncScope(fn, ctx, ...args)` on the Test (a
  // hook is a TestHook, a Test too), with the test's context. Patched on Test's prototype, this opens a test's bracket
  // at its first beforeEach hook, or at its function when it has none: one call that runs anyway, where a root
  // beforeEach hook of leakguard's costs a hook run for every test, nearly a test run of node:test's (under valgrind,
  // 2,000 empty tests took 12.7% more instructions with leakguard's beforeEach hook, 5.6% without).
  // Concurrent tests: where tests overlap (a parent with concurrency above 1), the test's function and hooks run with
  // its bracket in async context, so what they create, now or after an await, answers to that test and not to its
  // file. Sequential tests do not pay for the context (on Node 20 and 22 an active AsyncLocalStorage hooks every
  // promise).
  const patchScopes = (proto: Record<string, unknown>, opens: boolean): boolean => {
    const runInAsyncScope = proto.runInAsyncScope
    if (typeof runInAsyncScope !== 'function') return false
    proto.runInAsyncScope = function (this: ScopeOwner, fn: unknown, thisArg: unknown, ...args: unknown[]) {
      let bracket = open.get(thisArg as TestContext)
      if (!bracket && opens && startsTest(this) && isContext(thisArg)) bracket = openFor(thisArg)
      if (bracket && typeof fn === 'function' && (bracket.overlapped || runsConcurrently(this))) {
        const inner = fn as HookFn
        const b = bracket
        fn = function (this: unknown, ...fnArgs: unknown[]) {
          return contextStorage().run(b, () => inner.apply(this, fnArgs))
        }
      }
      return runInAsyncScope.call(this, fn, thisArg, ...args)
    }
    return true
  }

  /** Closes a test's bracket that had something left over; what leaked fails the test. */
  const closeTest = async (bracket: Bracket, record: FileRecord): Promise<void> => {
    const leaks = await collect(bracket, options)
    // Reported or allowed, what the test left can no longer hold its file's process open.
    await letGo(bracket)
    for (const leak of leaks) {
      record.leaks.push({ test: bracket.name, leak })
      if (leak.kind === 'other') otherTypes.add(String(leak.details.type))
    }
    const error = await leakError(leaks, 'test', options)
    if (error) throw error
  }

  // node:test runs a test's own `t.after` hooks after every afterEach (its usual cleanup:
  // `t.after(() => server.close())`). A bracket with something left over is checked last among
  // them: a `t.after` added now runs after the test's own.
  const check = (t: TestContext, bracket: Bracket, record: FileRecord): void => {
    if (!closeIfClean(bracket)) t.after!(() => closeTest(bracket, record))
  }

  // Not an async function: a clean test with no root-level afterEach of the file's is closed on
  // the spot, without a promise (this hook runs for every test).
  const eachDone = (t: TestContext): Promise<void> | undefined => {
    const bracket = open.get(t)
    const record = recordFor(fileOf(t))
    if (bracket) {
      open.delete(t)
      record.testsChecked++
    }
    if (rootAfterEach.length > 0) {
      return runHooks(rootAfterEach, t).then((failed) => {
        if (bracket) check(t, bracket, record)
        if (failed) throw failed
      })
    }
    if (bracket) check(t, bracket, record)
    return undefined
  }
  // As node:test's own run of it did (through runInAsyncScope, patched above): where tests overlap, the file's
  // root-level afterEach hooks run in the test's async context, and what they make answers to that test.
  const eachDoneInScope = (t: TestContext): Promise<void> | undefined => {
    const bracket = open.get(t)
    return bracket?.overlapped ? contextStorage().run(bracket, () => eachDone(t)) : eachDone(t)
  }
  runDirectly(madeDuring(() => afterEach(eachDoneInScope), (made) => made.constructor?.name === 'TestHook'), eachDoneInScope)

  const fileDone = async (): Promise<void> => {
    const failed = await runHooks(rootAfter, undefined)
    const leaks = await collect(file, options)
    for (const leak of leaks) if (leak.kind === 'other') otherTypes.add(String(leak.details.type))
    await letGo(file, otherTypes)
    if (leaks.length > 0) {
      // With every file in one process, a leak outside the tests goes to the file that made it.
      const paths = [...files.keys()]
      for (const leak of leaks) {
        const at = paths.find((p) => leak.site?.startsWith(`${p}:`)) ?? paths[0] ?? fileOf(null)
        recordFor(at).leaks.unshift({ test: null, leak })
      }
    }
    try {
      const { dir, made } = runDirAt(root, run.id)
      for (const [path, r] of files) writeFileResult(dir, { file: path, startedAt, testsChecked: r.testsChecked, leaks: r.leaks })
      mergeRun(dir, root, outputFile, { runner: 'node:test', vitestVersion: process.versions.node, shard: null, merged: false, interrupted: false })
      // Folders that ended runs left: looked for once a run, by the process that made this run's.
      if (made) pruneRuns(root, (id) => id !== run.id && runIsOver(id))
    } catch (e) {
      process.stderr.write(
        `[leakguard] could not write the leak report to ${relative(process.cwd(), outputFile) || outputFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); make that folder writable or set "outputFile" in leakguard.config.json.\n`,
      )
      process.exitCode = 1
    }
    if (failed) throw failed
    const error = await leakError(leaks, 'file', options)
    if (error) {
      // Printed for the file, whose process then fails: node:test names a failing root hook by
      // the module that registered it (leakguard's), not by the test file.
      process.stderr.write(`${error.message}\n`)
      process.exitCode = 1
    }
  }

  // Registering leakguard's root `after` hook makes a TestHook, which is a Test.
  const proto = testPrototypeOf(madeDuring(() => after(fileDone)))
  if (!proto || !patchScopes(proto, true)) {
    // Elsewhere (a node:test whose hooks are made some other way), a root beforeEach hook of leakguard's opens the
    // brackets, and the prototype is found from the first.
    let patched = false
    beforeEach((t: TestContext) => {
      if (!patched) {
        patched = true
        const found = testPrototypeOf(executionAsyncResource())
        if (found) patchScopes(found, false)
      }
      openFor(t)
    })
  }
}

const run = disabledByEnv() ? null : findRun()
if (run) {
  let config: ReturnType<typeof readConfigFile> | null = null
  try {
    config = readConfigFile()
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    // One line, and the file's process fails; its tests run unchecked.
    process.stderr.write(`${e.message}\n`)
    process.exitCode = 1
  }
  if (config) start(run, config.options, config.outputFile)
}

