// Creation sites: capture a stack cheaply (V8 formats it lazily) and pick the user's frame from it.
import { fileURLToPath } from 'node:url'
import { dirname, sep } from 'node:path'

export interface StackHolder {
  stack?: string
}

const OWN_DIR = dirname(dirname(fileURLToPath(import.meta.url))) + sep

/**
 * Captures the current stack without formatting it; `skip` is the wrapper frame to hide. `Holder`: the `Object` of the
 * realm whose `Error.prepareStackTrace` is to format it (a source-map lookup's), when not this module's.
 */
export function captureStack(skip: Function, Holder?: ObjectConstructor | null): StackHolder {
  const holder: StackHolder = Holder ? new Holder() : {}
  const limit = Error.stackTraceLimit
  // Library frames (express, undici, pools) can be deep; the user's frame sits below them.
  Error.stackTraceLimit = 40
  Error.captureStackTrace(holder, skip)
  Error.stackTraceLimit = limit
  return holder
}

export interface Frame {
  readonly fn: string | null
  readonly file: string
  readonly line: number
  readonly col: number
}

const FRAME_RE = /^\s*at (?:(?:async )?(.*?) \()?(.+?):(\d+):(\d+)\)?$/

export function parseFrames(stack: string | undefined): Frame[] {
  if (!stack) return []
  const frames: Frame[] = []
  for (const line of stack.split('\n')) {
    const m = FRAME_RE.exec(line)
    if (!m) continue
    let file = m[2]!
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file)
      } catch {
        continue
      }
    }
    frames.push({ fn: m[1] ?? null, file, line: Number(m[3]), col: Number(m[4]) })
  }
  return frames
}

function isInternal(file: string): boolean {
  return file.startsWith('node:') || file.startsWith('internal/') || !file.includes('/') && !file.includes('\\')
}

function isLibrary(file: string): boolean {
  return file.includes(`${sep}node_modules${sep}`) || file.startsWith(OWN_DIR)
}

/** The frame a user should look at: the first one in their own code, else the first library frame. */
export function userFrame(frames: readonly Frame[]): Frame | null {
  let library: Frame | null = null
  for (const f of frames) {
    if (isInternal(f.file)) continue
    if (!isLibrary(f.file)) return f
    // Vitest's own runner frames say nothing about who created the resource.
    if (!library && !/[\\/]node_modules[\\/](?:vitest|@vitest)[\\/]/.test(f.file) && !f.file.startsWith(OWN_DIR)) {
      library = f
    }
  }
  return library
}

export function formatSite(frame: Frame | null): string | null {
  return frame ? `${frame.file}:${frame.line}:${frame.col}` : null
}

// Vitest's packages, and node:test, whose runner is part of Node (its reporter's destination file,
// opened in the test process with --test-isolation=none).
const RUNNER = /[\\/]node_modules[\\/](?:vitest|@vitest|tinypool|vite-node|tinyspy|birpc)[\\/]|^node:internal\/test_runner\//

/**
 * True when the stack shows the test runner and nothing outside Node internals, the runner and
 * leakguard: the runner's own resource. A stack of Node internals alone (a file stream opening its
 * descriptor on a later tick) is not enough: that is still the user's.
 */
export function isRunnerOwned(frames: readonly Frame[]): boolean {
  let runner = false
  for (const f of frames) {
    if (RUNNER.test(f.file)) runner = true
    else if (!isInternal(f.file) && !f.file.startsWith(OWN_DIR) && !DOM_TIMERS.test(f.file)) return false
  }
  return runner
}

/**
 * A DOM environment's window timers: in the vm pools, code loaded in the test file's context (the
 * runner's own, too) calls `setTimeout` through them, so their frames sit between the runner's
 * and Node's (Vitest's 100 ms task-update timer, seen through jsdom's Window.js).
 */
const DOM_TIMERS = /[\/]node_modules[\/](?:jsdom|happy-dom)[\/]/
