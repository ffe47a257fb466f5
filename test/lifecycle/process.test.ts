// The process lifecycle in real child processes, close-with-grace style: ready handshake on stderr, a signal,
// then `close` and assertions on exit code, signal and output. Fixtures import the built dist/lifecycle.js.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { collect, diesWithin, isDead, within } from './helpers.js'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURE = join(import.meta.dirname, 'fixtures', 'signals.mjs')
const FORCED_EXIT_FIXTURE = join(import.meta.dirname, 'fixtures', 'forced-exit.mjs')

beforeAll(() => {
  // The fixtures run the build; a missing or stale build would test something other than src/.
  const sources = ['lifecycle.ts', ...readdirSync(join(ROOT, 'src', 'lifecycle')).map((f) => `lifecycle/${f}`)]
  for (const source of sources) {
    const built = `dist/${source.replace(/\.ts$/, '.js')}`
    const builtAt = statSync(join(ROOT, built), { throwIfNoEntry: false })?.mtimeMs
    if (builtAt === undefined) throw new Error(`${built} is missing: run \`npm run build\` (\`npm test\` builds first).`)
    if (statSync(join(ROOT, 'src', source)).mtimeMs > builtAt) {
      throw new Error(`${built} is older than src/${source}: run \`npm run build\`.`)
    }
  }
})

type Step = { readonly signal: NodeJS.Signals } | { readonly waitFor: string } | { readonly write: string }

interface Case {
  readonly name: string
  readonly mode: 'plain' | 'default' | 'wait' | 'hang' | 'uncaught' | 'unhandled'
  readonly steps: readonly Step[]
  readonly exitCode: number
  /** Each must appear in stderr exactly once. */
  readonly once: readonly string[]
  readonly absent?: readonly string[]
}

const CASES: readonly Case[] = [
  {
    name: 'SIGTERM runs the closers and exits 0',
    mode: 'plain',
    steps: [{ signal: 'SIGTERM' }],
    exitCode: 0,
    once: ['Received SIGTERM; closing gracefully', 'closer: closing', 'closer: interval cleared', 'Closed in'],
  },
  {
    name: 'the default logger writes to stderr, leaving stdout to the program',
    mode: 'default',
    steps: [{ signal: 'SIGTERM' }],
    exitCode: 0,
    once: ['[leakguard] Received SIGTERM; closing gracefully', 'closer: interval cleared', '[leakguard] Closed in'],
  },
  {
    name: 'SIGINT also closes gracefully and exits 0',
    mode: 'plain',
    steps: [{ signal: 'SIGINT' }],
    exitCode: 0,
    once: ['Received SIGINT; closing gracefully', 'closer: interval cleared'],
  },
  {
    name: 'a second SIGTERM while closing is ignored: one shutdown',
    mode: 'wait',
    steps: [
      { signal: 'SIGTERM' },
      { waitFor: 'closer: closing' },
      { signal: 'SIGTERM' },
      { waitFor: 'while already closing; ignoring it' },
      { write: 'go\n' },
    ],
    exitCode: 0,
    once: ['Received SIGTERM; closing gracefully', 'closer: closing', 'closer: interval cleared', 'ignoring it'],
  },
  {
    name: 'a second SIGINT forces exit 130',
    mode: 'wait',
    steps: [{ signal: 'SIGINT' }, { waitFor: 'closer: closing' }, { signal: 'SIGINT' }],
    exitCode: 130,
    once: ['Received SIGINT while closing; exiting now with code 130'],
    absent: ['closer: interval cleared'],
  },
  {
    name: 'an uncaught exception is logged, the closers run, exit 1',
    mode: 'uncaught',
    steps: [],
    exitCode: 1,
    once: ['Uncaught exception: Error: boom', 'closer: interval cleared'],
  },
  {
    name: 'an unhandled rejection is logged, the closers run, exit 1',
    mode: 'unhandled',
    steps: [],
    exitCode: 1,
    once: ['Unhandled rejection: Error: nope', 'closer: interval cleared'],
  },
  {
    name: 'a closer that hangs hits the hard deadline: exit 1',
    mode: 'hang',
    steps: [{ signal: 'SIGTERM' }],
    exitCode: 1,
    once: ['closer: closing', 'did not exit within 300 ms of the close starting; exiting with code 1'],
    absent: ['closer: interval cleared'],
  },
]

function count(text: string, needle: string): number {
  return text.split(needle).length - 1
}

describe.concurrent('handleSignals', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const child = spawn(process.execPath, [FIXTURE, c.mode], { stdio: ['pipe', 'pipe', 'pipe'] })
      const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
      const stderr = collect(child.stderr)
      const stdout = collect(child.stdout)
      try {
        await stderr.waitFor('ready\n')
        for (const step of c.steps) {
          if ('signal' in step) child.kill(step.signal)
          else if ('waitFor' in step) await stderr.waitFor(step.waitFor)
          else child.stdin.write(step.write)
        }
        const [code, signal] = await closed
        const text = stderr.text()
        expect({ code, signal }, text).toEqual({ code: c.exitCode, signal: null })
        for (const needle of c.once) expect(count(text, needle), `"${needle}" in:\n${text}`).toBe(1)
        for (const needle of c.absent ?? []) expect(text).not.toContain(needle)
        expect(text).toMatch(/^ready\n/)
        expect(stdout.text()).toBe('')
      } finally {
        // Only a failed assertion above can leave it running.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await closed
      }
    })
  }
})

interface ForcedCase {
  readonly name: string
  readonly mode: 'sigint' | 'deadline'
  readonly signals: readonly NodeJS.Signals[]
  readonly exitCode: number
  readonly logged: string
}

const FORCED: readonly ForcedCase[] = [
  {
    name: 'a second SIGINT (exit 130)',
    mode: 'sigint',
    signals: ['SIGINT', 'SIGINT'],
    exitCode: 130,
    logged: 'exiting now with code 130',
  },
  {
    name: 'the hard deadline (exit 1)',
    mode: 'deadline',
    signals: ['SIGTERM'],
    exitCode: 1,
    logged: 'did not exit within 300 ms of the close starting; exiting with code 1',
  },
]

// Linux only: whether a pid is dead (gone, or a zombie) is read from /proc.
describe.skipIf(process.platform !== 'linux')('a forced exit skips the closers but still kills registry children', { concurrent: true }, () => {
  for (const c of FORCED) {
    test(c.name, async () => {
      const child = spawn(process.execPath, [FORCED_EXIT_FIXTURE, c.mode], { stdio: ['ignore', 'ignore', 'pipe'] })
      const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
      const stderr = collect(child.stderr)
      let orphan: number | undefined
      try {
        orphan = Number((await stderr.waitFor(/ready \d+\n/)).split(' ')[1])
        expect(isDead(orphan)).toBe(false)
        const [first, ...rest] = c.signals
        child.kill(first)
        await stderr.waitFor('closer: stuck')
        for (const signal of rest) child.kill(signal)
        // The registry child shares the stderr pipe, so 'close' means it is gone as well.
        const [code, signal] = await within(closed, 5_000, `registry child ${orphan} outlived its parent's forced exit`)
        const text = stderr.text()
        expect({ code, signal }, text).toEqual({ code: c.exitCode, signal: null })
        expect(text).toContain(c.logged)
        expect(await diesWithin(orphan)).toBe(true)
      } finally {
        // Only a failure above leaves either of them running.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        if (orphan !== undefined && !isDead(orphan)) process.kill(-orphan, 'SIGKILL')
        await closed
      }
    })
  }
})
