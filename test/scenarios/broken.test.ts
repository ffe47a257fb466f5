// The runner against servers given with --server: a small correct server passes every scenario that applies, and
// each way of breaking it (fixtures/server.mjs, BROKEN=<mode>) is caught by the scenarios it concerns, saying why.
import { beforeAll, describe, expect, test } from 'vitest'
import { runScenarios, scenarios, type ScenarioReport } from '../../dist/scenarios/index.js'
import { assertBuildIsFresh, FIXTURE_SERVER, ROOT } from './helpers.js'

beforeAll(assertBuildIsFresh)

const SLOW = '/slow?ms={ms}'
const ANY_SERVER = scenarios.filter((s) => s.anyServer).map((s) => s.name)

function run(mode: string, only?: readonly string[], slowPath: string | null = SLOW): Promise<ScenarioReport> {
  return runScenarios({ server: `BROKEN=${mode} node ${FIXTURE_SERVER}`, slowPath: slowPath ?? undefined, only, cwd: ROOT })
}

function rows(report: ScenarioReport): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.name, `${r.verdict}: ${r.detail}`]))
}

interface Case {
  readonly mode: string
  readonly only: readonly string[]
  /** Scenario name → the failure detail it must give. Rows not listed must pass. */
  readonly fails: Readonly<Record<string, RegExp>>
}

const CASES: readonly Case[] = [
  { mode: 'crash-on-start', only: ['ready'], fails: { ready: /^exited with code 1 before \/health answered 200; last line: "Error: broken on purpose/ } },
  {
    mode: 'ignore-sigterm',
    only: ['sigterm-idle', 'sigterm-in-flight'],
    fails: {
      'sigterm-idle': /^still running 2000 ms after SIGTERM: it ignores SIGTERM, or something .* keeps its event loop alive \(SIGKILLed it\)$/,
      'sigterm-in-flight': /^new connections were still accepted while the in-flight request was being answered/,
    },
  },
  { mode: 'exit-code', only: ['sigterm-idle'], fails: { 'sigterm-idle': /^exited with code 3 after SIGTERM, expected exit code 0$/ } },
  {
    mode: 'process-exit',
    only: ['sigterm-idle'],
    fails: { 'sigterm-idle': /^it ended through process\.exit\(0\) at .*fixtures\/server\.mjs:\d+:\d+\), not on its own/ },
  },
  {
    mode: 'wait-keep-alive',
    only: ['sigterm-idle', 'sigterm-keep-alive'],
    fails: { 'sigterm-keep-alive': /^still running 2000 ms after SIGTERM/ },
  },
  { mode: 'cut-in-flight', only: ['sigterm-in-flight'], fails: { 'sigterm-in-flight': /^the in-flight request: no complete response \(failed, ECONNRESET\)$/ } },
  {
    mode: 'crash-on-second-sigterm',
    only: ['sigterm-in-flight', 'sigterm-twice'],
    fails: { 'sigterm-twice': /^the in-flight request \(two SIGTERMs\): no complete response/ },
  },
  { mode: 'cut-mid-body', only: ['load-shutdown'], fails: { 'load-shutdown': /^\d+ response\(s\) cut mid-body during shutdown \(e\.g\. \/slow\?ms=20 200 / } },
  { mode: 'ignore-eaddrinuse', only: ['port-in-use'], fails: { 'port-in-use': /^exited with code 0 although it could not listen on its port$/ } },
  {
    mode: 'leave-child',
    only: ['sigterm-idle'],
    // The detail is cut at 160 characters: a long path to node (CI's copy) cuts the command short.
    fails: { 'sigterm-idle': /^left 1 process behind after it exited: pid \d+ \(.*node -e setInterval\(\(\) => \{\}, (1000\)|\.\.\.)\) \(killed\)$/ },
  },
]

test('a correct server passes every scenario that applies to any server; the others are skipped with the reason', async () => {
  const report = await run('', undefined)
  const verdicts = Object.fromEntries(report.results.map((r) => [r.name, r.verdict]))
  for (const name of ANY_SERVER) expect(verdicts[name], rows(report)[name]).toBe('pass')
  const skipped = report.results.filter((r) => r.verdict === 'skip')
  expect(skipped.map((r) => r.name).sort()).toEqual(scenarios.filter((s) => !s.anyServer).map((s) => s.name).sort())
  for (const row of skipped) expect(row.detail).toMatch(/^needs .*, which only the reference server has$/)
  expect(report).toMatchObject({ ok: true, failed: 0, passed: ANY_SERVER.length })
})

test('without --slow-path the in-flight scenarios are skipped, and say what would enable them', async () => {
  const report = await run('', ['sigterm-in-flight', 'sigterm-twice', 'sigterm-idle'], null)
  expect(rows(report)).toEqual({
    'sigterm-in-flight': 'skip: needs --slow-path to hold a request in flight',
    'sigterm-twice': 'skip: needs --slow-path to hold a request in flight',
    'sigterm-idle': expect.stringMatching(/^pass: exit 0 in \d+ ms$/),
  })
})

describe.concurrent('each breakage is caught by the scenarios it concerns', () => {
  test.each(CASES)('BROKEN=$mode', async ({ mode, only, fails }) => {
    const report = await run(mode, only)
    const got = rows(report)
    for (const name of only) {
      if (fails[name]) expect(got[name]).toMatch(new RegExp(`^fail: ${fails[name].source.replace(/^\^/, '')}`))
      else expect(got[name]).toMatch(/^pass: /)
    }
    expect(report.ok).toBe(false)
  })
})
