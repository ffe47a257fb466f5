// Shared by the scenario tests: they run the build (dist/), as the CLI does, so it must exist and be newer than src/.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const FIXTURE_SERVER = join(import.meta.dirname, 'fixtures', 'server.mjs')

/** Throws when a file under src/reference, src/scenarios or src/cli/scenarios.ts is newer than its build. */
export function assertBuildIsFresh(): void {
  const sources = [
    ...['reference', 'scenarios'].flatMap((dir) => readdirSync(join(ROOT, 'src', dir)).map((file) => `${dir}/${file}`)),
    'cli/scenarios.ts',
  ].filter((file) => /\.c?ts$/.test(file) && !file.endsWith('.d.ts'))
  for (const source of sources) {
    const built = `dist/${source.replace(/\.ts$/, '.js').replace(/\.cts$/, '.cjs')}`
    const builtAt = statSync(join(ROOT, built), { throwIfNoEntry: false })?.mtimeMs
    if (builtAt === undefined) throw new Error(`${built} is missing: run \`npm run build\` (\`npm test\` builds first).`)
    if (statSync(join(ROOT, 'src', source)).mtimeMs > builtAt) throw new Error(`${built} is older than src/${source}: run \`npm run build\`.`)
  }
}
