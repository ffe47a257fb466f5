// The Vitest this suite runs on: CI runs it on several (.ci/run), and a few tests differ by version.
import { createRequire } from 'node:module'

export const VITEST_VERSION: string = createRequire(import.meta.url)('vitest/package.json').version
const [major, minor] = VITEST_VERSION.split('.').map(Number) as [number, number]

/** The running Vitest is at least `major.minor`. */
export function vitestAtLeast(wantMajor: number, wantMinor = 0): boolean {
  return major > wantMajor || (major === wantMajor && minor >= wantMinor)
}
