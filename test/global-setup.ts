// After the whole suite: no process started by a test may still be alive. Every process a test
// spawns carries LEAKGUARD_MARK in its environment (grandchildren inherit it), so /proc finds
// them even after re-parenting. LEAKGUARD_SUITE, set here before any worker starts and inherited
// by everything below, keeps another suite running on the same machine out of the count.
// Linux only; elsewhere there is no /proc to read.
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'

function survivors(suite: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e))
  } catch {
    return []
  }
  const found: string[] = []
  for (const pid of entries) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'latin1')
      if (!env.includes('LEAKGUARD_MARK=') || !env.includes(`LEAKGUARD_SUITE=${suite}`)) continue
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      if (stat.charAt(stat.lastIndexOf(')') + 2) === 'Z') continue
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim()}`)
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found
}

export default function setup() {
  const suite = randomUUID()
  process.env.LEAKGUARD_SUITE = suite
  return () => {
    const left = survivors(suite)
    if (left.length > 0) {
      // Vitest logs an error thrown here but keeps the exit code: set it too.
      process.exitCode = 1
      throw new Error(`processes started by the test suite are still alive:\n${left.join('\n')}`)
    }
  }
}
