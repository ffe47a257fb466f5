// Build step after tsc: a harness (the runner, or the setup file) loads in every test file (each
// one a fresh process in Vitest's default pool), and so does the `leakguard` entry where a test file
// imports it; every ES module costs about half a millisecond to load there. This folds each of them
// and the few modules it needs into one file. The rest of
// the detector (settling, descriptions, errors) stays where tsc put it and loads only on the first
// leftover.
// Detector state lives on a global symbol, so the copies folded in here share it with the rest.
//
//   node scripts/bundle-setup.mjs          (run by `npm run build`)
import { rmSync } from 'node:fs'
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
      banner: 'const __leakguardUrl = require("node:url").pathToFileURL(__filename).href;',
    })
  } finally {
    await bundle.close()
  }
}
