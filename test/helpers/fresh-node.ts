// Runs an ES module script in a fresh Node process (the test's own Node), for checks that need a process leakguard
// has not armed or loaded builtins in yet; returns the JSON its last line of output printed.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

export function runFreshNode<T>(script: string, nodeFlags: readonly string[] = []): T {
  const out = execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1)!) as T
}

/** A built module of leakguard (`dist/...`), as a quoted URL to import in such a script. */
export function distUrl(...parts: string[]): string {
  return JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', ...parts)).href)
}
