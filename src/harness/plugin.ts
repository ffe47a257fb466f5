// The Vitest plugin: puts the setup file first and the reporter last, and hands both the options.
import { fileURLToPath } from 'node:url'
import { serializeAllow, validateOptions, type DetectorOptions } from '../detector/index.js'
import LeakguardReporter from '../reporters/reporter.js'
import { disabledByEnv, PROVIDE_KEY } from './env.js'
import { installedVitestVersion, unsupportedVitest } from '../shared/vitest-version.js'

export interface LeakguardOptions extends DetectorOptions {
  /**
   * Where the JSON report goes, relative to the Vitest root.
   * @default '.leakguard/report.json'
   */
  readonly outputFile?: string
}

/** The part of Vite's Plugin this plugin uses. */
export interface LeakguardPlugin {
  readonly name: 'leakguard'
  config(config: { test?: Record<string, any> }): void
  configureVitest(context: { project: { config: { runner?: string; setupFiles: string[] } } }): void
}

const SETUP = fileURLToPath(new URL('./setup.js', import.meta.url))
const RUNNER = fileURLToPath(new URL('./runner.js', import.meta.url))
/** leakguard's own files, to run natively rather than through Vite's transform (it costs ~0.2 s a file). */
const OWN_DIST = new RegExp(`^${fileURLToPath(new URL('../', import.meta.url)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)

/**
 * The setup file first, so that its aroundEach is the outermost wrapper around every other hook;
 * for a project with a test runner of its own.
 */
function withSetup(setupFiles: readonly string[]): string[] {
  return [SETUP, ...withoutSetup(setupFiles)]
}

function withoutSetup(setupFiles: readonly string[]): string[] {
  return setupFiles.filter((f) => f !== SETUP && f !== 'leakguard/setup')
}

function toArray<T>(v: T | readonly T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? [...v] : [v as T]
}

/**
 * Checks every test for leaked resources.
 * @example
 * // vitest.config.ts
 * import { defineConfig } from 'vitest/config'
 * import { leakguard } from 'leakguard/vitest'
 * export default defineConfig({ plugins: [leakguard()] })
 */
export function leakguard(options: LeakguardOptions = {}): LeakguardPlugin {
  const resolved = validateOptions(options)
  if (options.outputFile !== undefined && (typeof options.outputFile !== 'string' || options.outputFile === '')) {
    throw new TypeError(`leakguard: \`outputFile\` must be a non-empty path; received ${JSON.stringify(options.outputFile)}.`)
  }
  return {
    name: 'leakguard',
    config(config) {
      if (disabledByEnv()) return
      // One error at start-up, rather than one per test file from the harness.
      const unsupported = unsupportedVitest(installedVitestVersion())
      if (unsupported) throw unsupported
      const test = (config.test ??= {})
      // leakguard's runner brackets the tests from Vitest's runner hooks, at less cost than hooks.
      // A runner of the project's own stays, and the setup file brackets with hooks instead.
      test.runner ??= RUNNER
      const setupFiles = toArray<string>(test.setupFiles)
      test.setupFiles = test.runner === RUNNER ? withoutSetup(setupFiles) : withSetup(setupFiles)
      // Vitest's own default adds its github-actions reporter on GitHub; keep it.
      const reporters =
        test.reporters === undefined
          ? ['default', ...(process.env.GITHUB_ACTIONS === 'true' ? ['github-actions'] : [])]
          : toArray(test.reporters)
      test.reporters = [
        ...reporters.filter((r) => r !== 'leakguard/reporter' && !(Array.isArray(r) && r[0] === 'leakguard/reporter')),
        // An instance, not a path: Vitest would load a path through its module runner, file by file.
        new LeakguardReporter(options.outputFile ? { outputFile: options.outputFile } : {}),
      ]
      const server = (test.server ??= {})
      const deps = (server.deps ??= {})
      deps.external = [...toArray(deps.external), OWN_DIST]
      test.provide = {
        ...test.provide,
        [PROVIDE_KEY]: {
          allow: serializeAllow(resolved.allow),
          settleMs: resolved.settleMs,
          unrefTimers: resolved.unrefTimers,
          killLeakedChildren: resolved.killLeakedChildren,
          failOnLeak: resolved.failOnLeak,
        },
      }
    },
    // The final word on the runner: a `--runner` on the command line overrides the config.
    configureVitest({ project }) {
      if (disabledByEnv() || project.config.runner === RUNNER) return
      project.config.setupFiles = withSetup(project.config.setupFiles)
    },
  }
}
