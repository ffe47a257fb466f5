// The leak zoo for other test runners: each fixture of test/fixtures/zoo, written for Vitest in
// TypeScript, transpiled to JavaScript (TypeScript's own transpiler, types removed, comments and
// lines kept) with its `vitest` import pointed at a shim that maps the little of Vitest's API the
// zoo uses onto the runner's. Written inside the repository, so that `leakguard`, `undici` and the
// rest resolve as they do for the originals.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { ROOT } from './run-vitest.js'

export const ZOO = join(ROOT, 'test', 'fixtures', 'zoo')

export interface PortedZoo {
  readonly dir: string
  /** The ported file's name for a zoo file's (`timers.test.ts` → `timers.test.mjs`). */
  readonly name: (file: string) => string
  /** A pattern written for the zoo's files, for the ported ones. */
  readonly pattern: (re: RegExp) => RegExp
}

/**
 * Ports every `*.test.ts` of the zoo into a new folder under `.scratch/`.
 * `esm`: `.test.mjs` files; `cjs`: `.test.cjs` files, with `import.meta.url` rewritten for CommonJS.
 * `leakguard`: the specifier test files import `allowLeaks()` from (Jest's is `leakguard/jest`).
 */
export function portZoo(format: 'esm' | 'cjs', shim: string, options: { leakguard?: string } = {}): PortedZoo {
  const base = join(ROOT, '.scratch')
  mkdirSync(base, { recursive: true })
  // Named `zoo` like the original: descriptions of its folder read the same.
  const dir = join(mkdtempSync(join(base, `zoo-${format}-`)), 'zoo')
  mkdirSync(dir)
  const ext = format === 'esm' ? '.mjs' : '.cjs'
  const name = (file: string): string => file.replace(/\.ts$/, ext)
  // What the fixtures start as they are (a cluster worker's script).
  for (const file of readdirSync(ZOO).filter((f) => f.endsWith('.cjs'))) copyFileSync(join(ZOO, file), join(dir, file))
  for (const file of readdirSync(ZOO).filter((f) => f.endsWith('.test.ts'))) {
    const shimSpecifier = JSON.stringify(`./${relative(dir, shim)}`)
    // The fixtures name themselves (`workers-fds.test.ts`): by the ported file's name.
    let source = readFileSync(join(ZOO, file), 'utf8').replace(/from 'vitest'/g, `from ${shimSpecifier}`).replace(/\.test\.ts\b/g, `.test${ext}`)
    // TypeScript drops a comment after an opening brace: a site marker goes first on its line instead.
    source = source.replace(/^(\s*)(\S.*?)\s*\/\/ (SITE:\S+)\s*$/gm, (_, indent: string, code: string, tag: string) => `${indent}/* // ${tag} */ ${code}`)
    if (format === 'cjs') {
      source = source.replace(/import\.meta\.url/g, "require('node:url').pathToFileURL(__filename).href").replace(/import\.meta\.dirname/g, '__dirname')
    }
    if (options.leakguard) source = source.replace(/from 'leakguard'/g, `from ${JSON.stringify(options.leakguard)}`)
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: format === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
        esModuleInterop: true,
        removeComments: false,
      },
    })
    writeFileSync(join(dir, name(file)), out.outputText)
  }
  const pattern = (re: RegExp): RegExp => new RegExp(re.source.replace(/\\\.test\\\.ts/g, `\\.test\\${ext}`), re.flags)
  return { dir, name, pattern }
}
