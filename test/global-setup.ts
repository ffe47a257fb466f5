// After the whole suite: no process started by a test may still be alive. Every process a test
// spawns carries LEAKGUARD_MARK in its environment (grandchildren inherit it), so /proc finds
// them even after re-parenting. LEAKGUARD_SUITE, set here before any worker starts and inherited
// by everything below, keeps another suite running on the same machine out of the count.
// Linux only; elsewhere there is no /proc to read.
import { randomUUID } from 'node:crypto'
import { findByEnv } from '../src/shared/procfs.js'

export default function setup() {
  const suite = randomUUID()
  process.env.LEAKGUARD_SUITE = suite
  const alive = () => findByEnv('LEAKGUARD_SUITE', (value, env) => value === suite && env('LEAKGUARD_MARK') !== undefined)
  return async () => {
    let left = alive()
    // Test workers may still be exiting, and a child that serves its worker over a pipe goes with
    // it: esbuild's service process, which Vite 5 to 7 (Vitest 3 and 4.0) start in a test that
    // starts Vitest. Give them a bounded while.
    for (const deadline = Date.now() + 5000; left.length > 0 && Date.now() < deadline; left = alive()) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    if (left.length > 0) {
      // Vitest logs an error thrown here but keeps the exit code: set it too.
      process.exitCode = 1
      throw new Error(`processes started by the test suite are still alive:\n${left.map((p) => `${p.pid} ${p.command}`).join('\n')}`)
    }
  }
}
