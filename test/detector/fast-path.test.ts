// A bracket closes on the fast path (without loading the rest of the detector) when everything it recorded is done
// with: the module loader's reads, a descriptor opened and closed, are the common case in every test file's bracket.
// Run in a fresh Node process: leakguard is armed in this one already.
import { expect, test } from 'vitest'
import { distUrl, runFreshNode } from '../helpers/fresh-node.js'

const CORE = distUrl('harness', 'core.js')

test('descriptors opened and closed leave a bracket clean; one left open does not', () => {
  const script = `
    const core = await import(${CORE})
    core.arm('runner')
    // Imported after arming, as a test file's imports are.
    const { closeSync, openSync, readFileSync } = await import('node:fs')
    const { fileURLToPath } = await import('node:url')
    const file = fileURLToPath(${CORE})
    const reads = core.openTest('reads')
    readFileSync(file)
    closeSync(openSync(file, 'r'))
    const recorded = reads.records.length
    const readsClean = core.closeIfClean(reads)
    const keeps = core.openTest('keeps one open')
    const fd = openSync(file, 'r')
    const keepsClean = core.closeIfClean(keeps)
    closeSync(fd)
    console.log(JSON.stringify({ recorded, readsClean, keepsClean }))
  `
  const result = runFreshNode<{ recorded: number; readsClean: boolean; keepsClean: boolean }>(script)
  expect(result.recorded).toBeGreaterThan(0)
  expect(result).toMatchObject({ readsClean: true, keepsClean: false })
})
