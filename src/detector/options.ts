// Options: validated once, with errors that name the option and the fix.
import { LEAK_KINDS, type AllowEntry, type DetectorOptions, type LeakKind } from './types.js'

export interface ResolvedOptions {
  readonly allow: readonly AllowEntry[]
  readonly settleMs: number
  readonly unrefTimers: boolean
  readonly killLeakedChildren: boolean
  readonly failOnLeak: boolean
}

export const DEFAULTS: ResolvedOptions = {
  allow: [],
  settleMs: 100,
  unrefTimers: false,
  killLeakedChildren: true,
  failOnLeak: true,
}

export function resolveOptions(input: DetectorOptions | undefined): ResolvedOptions {
  return { ...DEFAULTS, ...stripUndefined(input ?? {}) }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

const KNOWN = new Set(['allow', 'settleMs', 'unrefTimers', 'killLeakedChildren', 'failOnLeak', 'outputFile'])

function isKind(value: unknown): value is LeakKind {
  return typeof value === 'string' && (LEAK_KINDS as readonly string[]).includes(value)
}

const kindList = LEAK_KINDS.map((k) => `'${k}'`).join(', ')

export function assertKind(value: unknown, where: string): asserts value is LeakKind {
  if (!isKind(value)) {
    throw new TypeError(`leakguard: ${where} must be one of ${kindList}; received ${JSON.stringify(value)}.`)
  }
}

/** Validates user options; throws a TypeError/RangeError naming the option. */
export function validateOptions(input: unknown): ResolvedOptions {
  if (input === undefined || input === null) return resolveOptions(undefined)
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(`leakguard: options must be an object, e.g. leakguard({ settleMs: 100 }); received ${JSON.stringify(input)}.`)
  }
  const o = input as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(`leakguard: unknown option \`${key}\`; known options are ${[...KNOWN].map((k) => `\`${k}\``).join(', ')}.`)
    }
  }
  if (o.settleMs !== undefined && (typeof o.settleMs !== 'number' || !Number.isFinite(o.settleMs) || o.settleMs < 0)) {
    throw new RangeError(`leakguard: \`settleMs\` must be a number of milliseconds ≥ 0; received ${JSON.stringify(o.settleMs)}.`)
  }
  for (const key of ['unrefTimers', 'killLeakedChildren', 'failOnLeak'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new TypeError(`leakguard: \`${key}\` must be true or false; received ${JSON.stringify(o[key])}.`)
    }
  }
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow)) {
      throw new TypeError("leakguard: `allow` must be an array, e.g. allow: ['timer', { kind: 'socket', site: /node_modules\\/pg\\// }].")
    }
    o.allow.forEach((entry: unknown, i: number) => {
      if (typeof entry === 'string') return assertKind(entry, `\`allow[${i}]\``)
      if (!entry || typeof entry !== 'object') {
        throw new TypeError(`leakguard: \`allow[${i}]\` must be a kind or { kind?, site? }; received ${JSON.stringify(entry)}.`)
      }
      const e = entry as Record<string, unknown>
      if (e.kind !== undefined) assertKind(e.kind, `\`allow[${i}].kind\``)
      if (e.site !== undefined && typeof e.site !== 'string' && !(e.site instanceof RegExp)) {
        throw new TypeError(`leakguard: \`allow[${i}].site\` must be a string or a RegExp; received ${JSON.stringify(e.site)}.`)
      }
      if (e.kind === undefined && e.site === undefined) {
        throw new TypeError(`leakguard: \`allow[${i}]\` needs a \`kind\`, a \`site\`, or both.`)
      }
    })
  }
  return resolveOptions(o as DetectorOptions)
}

/** RegExps do not survive Vitest's `provide`: allow entries travel as plain data. */
export type SerializedAllow = LeakKind | { kind?: LeakKind; site?: string | { source: string; flags: string } }

export function serializeAllow(allow: readonly AllowEntry[]): SerializedAllow[] {
  return allow.map((e) =>
    typeof e === 'string'
      ? e
      : {
          ...(e.kind ? { kind: e.kind } : {}),
          ...(e.site === undefined ? {} : { site: e.site instanceof RegExp ? { source: e.site.source, flags: e.site.flags } : e.site }),
        },
  )
}

export function deserializeAllow(allow: readonly SerializedAllow[]): AllowEntry[] {
  return allow.map((e) =>
    typeof e === 'string'
      ? e
      : {
          ...(e.kind ? { kind: e.kind } : {}),
          ...(e.site === undefined ? {} : { site: typeof e.site === 'string' ? e.site : new RegExp(e.site.source, e.site.flags) }),
        },
  )
}
