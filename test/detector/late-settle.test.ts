// The settle gives the event loop a turn or two even when its deadline has already passed, as it has in a process
// that was not scheduled for longer than settleMs (a loaded CI machine): what callbacks already queued release (a
// pool unref'ing an idle connection in a setImmediate) is not reported. The stall is simulated with the detector's
// clock, which jumps a second ahead after the settle reads its deadline. Run in a fresh Node process: leakguard is
// armed in this one already.
import { expect, test } from 'vitest'
import { distUrl as url, runFreshNode } from '../helpers/fresh-node.js'

function closeAfterStall(settleMs: number, release: 'setImmediate' | 'never'): { leaks: string[]; stalled: boolean } {
  const script = `
    const core = await import(${url('harness', 'core.js')})
    const { resolveOptions } = await import(${url('detector', 'options.js')})
    const { state } = await import(${url('detector', 'registry.js')})
    // Loaded before: its first load takes turns of the event loop, which would run the release early.
    await import(${url('detector', 'detect.js')})
    core.arm('runner')
    const options = resolveOptions({ settleMs: ${settleMs} })
    const b = core.openTest('stalled')
    const timer = setTimeout(() => {}, 60_000)
    if (${JSON.stringify(release)} === 'setImmediate') setImmediate(() => clearTimeout(timer))
    // From the second reading on, the clock is a second later: the settle's deadline is behind it at once.
    const s = state()
    const now = s.real.now
    let readings = 0
    s.real.now = () => now() + (++readings > 1 ? 1_000 : 0)
    const leaks = await core.collect(b, options)
    s.real.now = now
    clearTimeout(timer)
    console.log(JSON.stringify({ leaks: leaks.map((l) => l.kind), stalled: readings > 1 }))
  `
  return runFreshNode(script)
}

test('a leftover released by a callback already queued is not reported, however late the settle starts', () => {
  expect(closeAfterStall(100, 'setImmediate')).toEqual({ leaks: [], stalled: true })
})

test('one that nothing releases is still reported after the stall', () => {
  expect(closeAfterStall(100, 'never')).toEqual({ leaks: ['timer'], stalled: true })
})
