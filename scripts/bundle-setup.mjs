// Build step after tsc: a harness (the runner, or the setup file) loads in every test file (each
// one a fresh process in Vitest's default pool), and so does the `leakguard` entry where a test file
// imports it; every ES module costs about half a millisecond to load there. This folds each of them
// and the few modules it needs into one file. The rest of
// the detector (settling, descriptions, errors) stays where tsc put it and loads only on the first
// leftover.
// Detector state lives on a global symbol, so the copies folded in here share it with the rest.
//
//   node scripts/bundle-setup.mjs          (run by `npm run build`)
import { readdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rolldown } from 'rolldown'

const DIST = join(dirname(dirname(fileURLToPath(import.meta.url))), 'dist')
// Loaded lazily by the harness: kept as imports of the modules tsc emitted. (The `leakguard`
// entry folds in a copy of errors.js: LeakError's instanceof holds across copies.)
const LAZY = /^\.\.\/detector\/(detect|errors)\.js$/
// Loaded on first use by useServer (supertest, get-port), or Vitest's own.
const PACKAGES = new Set(['vitest', 'supertest', 'get-port'])

// Each harness on its own: a project loads one of them, never both. And the `leakguard` entry,
// which every test file that calls allowLeaks() or useServer() imports; and node:test's, which
// is both its harness and its entry.
// node:test's entry imports LeakError and its harness loads the detector lazily: it keeps both as
// the files tsc emitted.
const ENTRIES = [
  [join(DIST, 'harness', 'setup.js'), LAZY],
  [join(DIST, 'harness', 'runner.js'), LAZY],
  // The `leakguard` entry folds in errors.js (LeakError is what it exports) and imports no detect.js.
  [join(DIST, 'index.js'), /^\.\.\/detector\/detect\.js$/],
  [join(DIST, 'node-test.js'), /^(\.\.?\/)+detector\/(detect|errors)\.js$/],
]
for (const [entry, lazy] of ENTRIES) {
  const bundle = await rolldown({
    input: entry,
    platform: 'node',
    external: (id) => PACKAGES.has(id) || id.startsWith('vitest/') || id.startsWith('node:') || lazy.test(id),
    onwarn(warning) {
      throw new Error(`bundle-setup: ${warning.message}`)
    },
  })
  try {
    await bundle.write({ file: entry, format: "esm", sourcemap: false, comments: false, charset: "ascii" })
  } finally {
    await bundle.close()
  }
  // tsc's source map describes the file this step replaced.
  rmSync(`${entry}.map`, { force: true })
}

// Jest loads its setup files, and what test files import, with its own require, inside each test
// file's vm context, where a dynamic import() fails: the Jest entry is one CommonJS file with the
// whole detector in it (and get-port, which is ESM only). Kept in dist/harness/, so that the
// detector tells its own frames from the user's as it does for the files tsc wrote. The reporter
// runs in Jest's main process, which loads reporters with require too.
// A CommonJS bundle has no import.meta.url: each defines it as __leakguardUrl and starts with this line.
const URL_BANNER = 'const __leakguardUrl = require("node:url").pathToFileURL(__filename).href;'
const CJS = [
  [join(DIST, 'jest.js'), join(DIST, 'harness', 'jest.cjs'), new Set(['supertest'])],
  // The worker's one-time set-up, which the harness loads with Node's own require, in Node's realm (see jest.ts).
  [join(DIST, 'harness', 'jest-thread.js'), join(DIST, 'harness', 'jest-thread.cjs'), new Set()],
  [join(DIST, 'jest-reporter.js'), join(DIST, 'reporters', 'jest-reporter.cjs'), new Set()],
]
for (const [input, file, external] of CJS) {
  const bundle = await rolldown({
    input,
    platform: 'node',
    external: (id) => external.has(id) || id.startsWith('node:'),
    transform: { define: { 'import.meta.url': '__leakguardUrl' } },
    onwarn(warning) {
      throw new Error(`bundle-setup: ${warning.message}`)
    },
  })
  try {
    await bundle.write({
      file,
      format: 'cjs',
      sourcemap: false,
      codeSplitting: false,
      banner: URL_BANNER,
    })
  } finally {
    await bundle.close()
  }
}

// The reference server starts as some 35 processes in one `leakguard scenarios` run (cluster workers included), and
// each loads it anew: as one CommonJS file (and one for its worker child) it skips the ES module loader and the
// resolution of every module, about 16% of such a process's instructions (287 -> 241 million, start to exit).
// The primary and the server stay chunks of their own, loaded once main.cjs knows which one it runs. tsc's files
// stay too: dist/reference/index.js exports from them, and `node dist/reference/main.js` runs the same server.
const REFERENCE = join(DIST, 'reference')
// Chunks of an earlier build whose names this one may not reuse.
for (const name of readdirSync(REFERENCE)) if (name.endsWith('.cjs')) rmSync(join(REFERENCE, name))
const reference = await rolldown({
  input: { main: join(REFERENCE, 'main.js'), worker: join(REFERENCE, 'worker.js') },
  platform: 'node',
  external: (id) => id.startsWith('node:'),
  transform: { define: { 'import.meta.url': '__leakguardUrl' } },
  plugins: [
    {
      // The server spawns its worker child from a path next to it: in the bundle, that is worker.cjs.
      name: 'reference-worker-path',
      transform(code, id) {
        if (!id.endsWith(join('reference', 'server.js'))) return null
        const from = "new URL('./worker.js', "
        if (code.split(from).length !== 2) throw new Error(`bundle-setup: ${id} no longer has exactly one ${from}`)
        return code.replace(from, "new URL('./worker.cjs', ")
      },
    },
  ],
  onwarn(warning) {
    throw new Error(`bundle-setup: ${warning.message}`)
  },
})
try {
  await reference.write({
    dir: REFERENCE,
    format: 'cjs',
    sourcemap: false,
    entryFileNames: '[name].cjs',
    chunkFileNames: 'bundle-[name].cjs',
    comments: false,
    // The lifecycle's process module (and the two it imports) gets a chunk of a fixed name: the scenarios tell its
    // documented forced exit from any other process.exit() by the file it was called from (LIFECYCLE_EXIT in
    // src/scenarios/context.ts).
    codeSplitting: { groups: [{ name: 'lifecycle-process', test: /[\\/]lifecycle[\\/](process|errors|logger)\.js$/ }] },
    // Only the server's chunk asks for its own URL (the worker's path).
    banner: (chunk) =>
      chunk.moduleIds.some((id) => id.endsWith(join('reference', 'server.js')))
        ? URL_BANNER
        : '',
  })
} finally {
  await reference.close()
}
