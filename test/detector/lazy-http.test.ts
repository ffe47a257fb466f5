// Arming does not load node:http where Node has synchronous module hooks (24 and later): the agent patch waits for
// the first import, require or getBuiltinModule of http or https. Elsewhere it is installed when the detector arms.
// Each case runs in a fresh Node process, which has not loaded http.
import { expect, test } from 'vitest'
import { distUrl, runFreshNode } from '../helpers/fresh-node.js'

const HOOKS = distUrl('detector', 'hooks.js')
const LAZY = Number(process.versions.node.split('.')[0]) >= 24

/** Arms the detector, then reaches http `how`; says whether http was loaded at arm and whether Agent is patched. */
function armThenReach(how: string): { loadedAtArm: boolean; patched: boolean; secondAgentPatched: boolean } {
  const script = `
    const { installHooks } = await import(${HOOKS})
    installHooks()
    const loadedAtArm = process.moduleLoadList.includes('NativeModule _http_agent')
    const how = ${JSON.stringify(how)}
    const { createRequire } = await import('node:module')
    const http =
      how === 'import' ? await import('node:http')
      : how === 'import-bare' ? await import('http')
      : how === 'require' ? createRequire(import.meta.url)('http')
      : how === 'https' ? await import('node:https').then(() => process.getBuiltinModule('node:http'))
      : process.getBuiltinModule('http')
    const patched = typeof Object.getOwnPropertyDescriptor(http.Agent.prototype, 'freeSockets')?.set === 'function'
    // A later import sees the same patched prototype (installed once).
    const again = await import('node:http')
    const secondAgentPatched = typeof Object.getOwnPropertyDescriptor(again.Agent.prototype, 'freeSockets')?.set === 'function'
    console.log(JSON.stringify({ loadedAtArm, patched, secondAgentPatched }))
  `
  return runFreshNode(script)
}

test.each(['import', 'import-bare', 'require', 'https', 'getBuiltinModule'])('http reached by %s after arming: the agent patch is in place', (how) => {
  expect(armThenReach(how)).toEqual({ loadedAtArm: !LAZY, patched: true, secondAgentPatched: true })
})
