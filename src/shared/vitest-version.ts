// Which Vitest is installed, and whether leakguard supports it: the plugin and the reporter check
// once at start-up; the harnesses pick their code path from it.

/** The oldest Vitest leakguard runs on. */
export const MIN_VITEST = '3.1.0'

/** `[major, minor]` of a version string, or null when it is not one. */
export function parseVersion(version: string | null | undefined): [number, number] | null {
  const m = typeof version === 'string' ? /^(\d+)\.(\d+)/.exec(version) : null
  return m ? [Number(m[1]), Number(m[2])] : null
}

/** At least `major.minor`. An unreadable version counts as new: the checks are for old ones. */
export function atLeast(version: string | null | undefined, major: number, minor: number): boolean {
  const v = parseVersion(version)
  return !v || v[0] > major || (v[0] === major && v[1] >= minor)
}

/** The installed Vitest's version, as the code that imports `vitest` from here would find it. */
export function installedVitestVersion(from: string = import.meta.url): string | null {
  try {
    const { createRequire } = process.getBuiltinModule('node:module') as typeof import('node:module')
    return (createRequire(from)('vitest/package.json') as { version?: string }).version ?? null
  } catch {
    return null
  }
}

/** The one start-up error for a Vitest leakguard does not support, or null. */
export function unsupportedVitest(version: string | null | undefined): Error | null {
  if (atLeast(version, 3, 1)) return null
  return new Error(
    `leakguard needs Vitest ${MIN_VITEST} or later; this is Vitest ${version}. Upgrade with \`npm i -D vitest@latest\` (or at least \`npm i -D vitest@^3.1.0\`).`,
  )
}
