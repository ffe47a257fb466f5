// Runs an ES module script in a fresh Node process (the test's own Node), for checks that need a process leakguard
// has not armed or loaded builtins in yet; returns the JSON its last line of output printed.
import { execFileSync } from 'node:child_process'

export function runFreshNode<T>(script: string): T {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1)!) as T
}
