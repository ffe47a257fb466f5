// Options for the runners that have no plugin to carry them (node:test, Jest): one JSON file,
// `leakguard.config.json`, in the directory the run starts from. Read synchronously, once per
// process, before the first test file loads.
import { fs } from '../shared/node-fs.js'
import { join } from 'node:path'
import { deserializeAllow, validateOptions, type ResolvedOptions, type SerializedAllow } from '../detector/options.js'
import { DEFAULT_OUTPUT } from '../reporters/schema.js'

export const CONFIG_FILE = 'leakguard.config.json'

export interface FileConfig {
  readonly options: ResolvedOptions
  /** Where the report goes, relative to the directory of the config file. */
  readonly outputFile: string
  /** The config file's path, or null when there is none (defaults). */
  readonly path: string | null
}

/** Bad config: its message is one line that names the file, the option and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(message: string) {
    super(message)
    // A runner that prints an error's stack (Jest) prints this one line.
    this.stack = message
  }
}

function regExpOf(site: { source?: unknown; flags?: unknown }, where: string): { source: string; flags: string } {
  if (typeof site.source !== 'string' || (site.flags !== undefined && typeof site.flags !== 'string')) {
    throw new ConfigError(`${where}.site must be a string or { "source": "...", "flags": "..." }; received ${JSON.stringify(site)}.`)
  }
  try {
    new RegExp(site.source, (site.flags as string | undefined) ?? '')
  } catch (e) {
    throw new ConfigError(`${where}.site is not a valid regular expression (${(e as Error).message}).`)
  }
  return { source: site.source, flags: (site.flags as string | undefined) ?? '' }
}

/** Reads `leakguard.config.json` in `dir`: the defaults when there is none. Throws ConfigError. */
export function readConfigFile(dir: string = process.cwd()): FileConfig {
  const path = join(dir, CONFIG_FILE)
  let text: string
  try {
    text = fs.readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { options: validateOptions(undefined), outputFile: DEFAULT_OUTPUT, path: null }
    throw new ConfigError(`leakguard: cannot read ${path} (${code ?? (e as Error).message}); check its permissions.`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`leakguard: ${path} is not valid JSON (${(e as Error).message}); fix it, e.g. { "settleMs": 100 }.`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`leakguard: ${path} must hold an object of options, e.g. { "settleMs": 100 }.`)
  }
  const { outputFile, ...rest } = data as Record<string, unknown>
  if (outputFile !== undefined && (typeof outputFile !== 'string' || outputFile === '')) {
    throw new ConfigError(`leakguard: \`outputFile\` in ${path} must be a non-empty path; received ${JSON.stringify(outputFile)}.`)
  }
  try {
    if (Array.isArray(rest.allow)) {
      const allow = (rest.allow as unknown[]).map((entry, i) => {
        const site = (entry as { site?: unknown } | null)?.site
        if (site === null || typeof site !== 'object') return entry
        return { ...(entry as object), site: regExpOf(site, `\`allow[${i}]\``) }
      })
      rest.allow = deserializeAllow(allow as SerializedAllow[])
    }
    return { options: validateOptions(rest), outputFile: (outputFile as string | undefined) ?? DEFAULT_OUTPUT, path }
  } catch (e) {
    const message = (e as Error).message.replace(/^leakguard: /, '')
    throw new ConfigError(`leakguard: ${path}: ${message}`)
  }
}
