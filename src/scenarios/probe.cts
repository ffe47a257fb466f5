// Preloaded into a server under test (NODE_OPTIONS=--require): reports on stderr how the process ended, so the
// runner can tell a process that exited on its own (its event loop ran dry) from one that called process.exit().
import { writeSync } from 'node:fs'

const PREFIX = '[leakguard:exit]'
const originalExit = process.exit
let called: { code: unknown; stack: string } | undefined

process.exit = function exit(this: NodeJS.Process, code?: number | string | null) {
  called ??= { code, stack: new Error().stack ?? '' }
  return originalExit.call(this, code as number)
} as typeof process.exit

process.on('exit', (code) => {
  const record = called
    ? { pid: process.pid, how: 'process.exit', code, at: callerOf(called.stack) }
    : { pid: process.pid, how: 'natural', code }
  try {
    writeSync(2, `\n${PREFIX} ${JSON.stringify(record)}\n`)
  } catch {
    // stderr already closed: nothing to report to.
  }
})

/** The first frame outside this file: who called process.exit. */
function callerOf(stack: string): string {
  const frames = stack.split('\n').slice(1).map((line) => line.trim().replace(/^at /, ''))
  return frames.find((frame) => !frame.includes(__filename)) ?? frames[0] ?? '?'
}
