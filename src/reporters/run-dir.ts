// For runners that run test files in processes of their own (node:test, Jest's workers): each
// process writes what its files leaked into a folder of the run, and the process that reports (the
// runner's main process) reads them all back into one report. The folder's path travels to the
// test processes in the environment, which they inherit.
import { fs } from '../shared/node-fs.js'
import { join, relative } from 'node:path'
import type { Leak } from '../detector/types.js'
import { threadProcess } from '../shared/thread-process.js'
import { assembleReport, toReportLeak, writeFileAtomic, writeReport, type FileLeaks, type Report, type RunInfo } from './schema.js'

export const RUN_DIR_ENV = 'LEAKGUARD_RUN_DIR'

/** What one test file leaked, as a test process writes it. */
export interface FileResult {
  /** Absolute path of the test file. */
  readonly file: string
  /** Tests that ran (passed or failed). */
  readonly testsChecked: number
  /** When the file started, ISO 8601: the report's `startedAt` is the earliest. */
  readonly startedAt?: string
  /** File-level leaks (test null) first, then the tests' in the order they ran. */
  readonly leaks: readonly { readonly test: string | null; readonly leak: Leak }[]
}

/** Makes the run's folder under `<root>/.leakguard/` and hands its path to the processes started from now on. */
export function createRunDir(root: string): string {
  const parent = join(root, '.leakguard')
  fs.mkdirSync(parent, { recursive: true })
  const dir = fs.mkdtempSync(join(parent, 'run-'))
  process.env[RUN_DIR_ENV] = dir
  return dir
}

/** The run's folder, when this process was started by a run that collects results. */
export function runDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = env[RUN_DIR_ENV]
  return dir ? dir : null
}

// Counted on the thread's process object: Jest evaluates this module again for every test file.
const WRITTEN = Symbol.for('leakguard.runDir.written')
/** Writes one file's result into the run's folder (whole or not at all). */
export function writeFileResult(dir: string, result: FileResult): void {
  const thread = threadProcess() as unknown as Record<symbol, number | undefined>
  const n = (thread[WRITTEN] = (thread[WRITTEN] ?? 0) + 1)
  writeFileAtomic(join(dir, `${process.pid}-${n}.json`), JSON.stringify(result))
}

/** Every result written so far; a file that cannot be read or parsed is skipped and named in `skipped`. */
export function readRunDir(dir: string): { results: FileResult[]; skipped: string[] } {
  const results: FileResult[] = []
  const skipped: string[] = []
  let names: string[]
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()
  } catch {
    return { results, skipped }
  }
  for (const name of names) {
    try {
      const data = JSON.parse(fs.readFileSync(join(dir, name), 'utf8')) as FileResult
      if (typeof data.file === 'string' && Array.isArray(data.leaks)) results.push(data)
      else skipped.push(name)
    } catch {
      skipped.push(name)
    }
  }
  return { results, skipped }
}

export function removeRunDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true })
}

/** One report from the results of every process: a file run twice (a retry, a rerun) counts once, its last run. */
export function reportFromResults(results: readonly FileResult[], root: string, run: RunInfo): Report {
  const byFile = new Map<string, FileResult>()
  for (const r of results) byFile.set(r.file, r)
  const files: FileLeaks[] = []
  let testsChecked = 0
  for (const r of byFile.values()) {
    const file = relative(root, r.file).split('\\').join('/')
    testsChecked += r.testsChecked
    files.push({ file, project: '', leaks: r.leaks.map(({ test, leak }) => toReportLeak(leak, file, test, root)) })
  }
  return assembleReport(files, testsChecked, run)
}

/**
 * The folder of the run named `id`, made if need be: for test processes that know their run without being told.
 * `made`: this call made it (the run's first process to get here).
 */
export function runDirAt(root: string, id: string): { dir: string; made: boolean } {
  const dir = join(root, '.leakguard', 'runs', id)
  return { dir, made: fs.mkdirSync(dir, { recursive: true }) !== undefined }
}

/** Folders of runs that are over (as `isOver` says of their ids) are removed. */
export function pruneRuns(root: string, isOver: (id: string) => boolean): void {
  const parent = join(root, '.leakguard', 'runs')
  let ids: string[]
  try {
    ids = fs.readdirSync(parent)
  } catch {
    return
  }
  for (const id of ids) if (isOver(id)) removeRunDir(join(parent, id))
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * Runs `fn` holding the run folder's lock (a file made exclusively), waiting up to `waitMs` for it.
 * A lock older than that is taken to be left by a process that died holding it.
 */
export function withRunLock<T>(dir: string, fn: () => T, waitMs = 5_000): T {
  const lock = join(dir, '.lock')
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx'))
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (Date.now() > deadline) {
        fs.rmSync(lock, { force: true })
        continue
      }
      Atomics.wait(sleeper, 0, 0, 5)
    }
  }
  try {
    return fn()
  } finally {
    fs.rmSync(lock, { force: true })
  }
}

/**
 * For runners whose processes have no common reporter (node:test): each process, when its files are
 * done, writes the report from every result so far. Each writes its own result before it takes the
 * lock, so the last one to take it writes the whole run.
 */
export function mergeRun(dir: string, root: string, outputFile: string, run: Omit<RunInfo, 'startedAt'>): Report {
  return withRunLock(dir, () => {
    const { results } = readRunDir(dir)
    const starts = results.map((r) => r.startedAt).filter((t): t is string => typeof t === 'string').sort()
    const report = reportFromResults(results, root, { ...run, startedAt: starts[0] ?? new Date().toISOString() })
    writeReport(report, outputFile, root)
    return report
  })
}
