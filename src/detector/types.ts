// Shared vocabulary of the detector: leak kinds, the leak record that travels to reporters, options.

/** Stable names of the resource kinds leakguard tracks, used in reports, messages and `allowLeaks`. */
export const LEAK_KINDS = [
  'timer',
  'server',
  'socket',
  'child-process',
  'worker',
  'file-descriptor',
  'watcher',
  'other',
] as const

export type LeakKind = (typeof LEAK_KINDS)[number]

/** One leaked resource, JSON-serializable: this is what `task.meta.leaks` and the report carry. */
export interface Leak {
  /** Kind of resource. */
  readonly kind: LeakKind
  /** Plain-English description, e.g. "HTTP server listening on 127.0.0.1:40123". */
  readonly description: string
  /** Where it was created, `path:line:col` (absolute path), or `null` when unknown. */
  readonly site: string | null
  /** Function at the creation site (V8's frame name), or null when anonymous or unknown. */
  readonly siteFunction?: string | null
  /** The call that would have released it. */
  readonly hint: string
  /** Kind-specific details: address, port, pid, command, path, delay… */
  readonly details: Readonly<Record<string, string | number | boolean | null>>
  /** `true` when leakguard terminated the process after reporting it. */
  readonly terminated?: boolean
}

/** An entry of the `allow` option: a kind, or a kind and/or creation-site pattern. */
export type AllowEntry =
  | LeakKind
  | {
      /** Kind to allow; all kinds when omitted. */
      readonly kind?: LeakKind
      /** Matches any frame of the creation stack: a substring, or a RegExp. */
      readonly site?: string | RegExp
    }

/** Detector options, read the same by the plugin and the setup file. */
export interface DetectorOptions {
  /**
   * Resources that are not leaks: kinds, or creation sites (any frame of the creation stack).
   * @default []
   * @example allow: [{ kind: 'socket', site: /node_modules\/pg\// }]
   */
  readonly allow?: readonly AllowEntry[]
  /**
   * Longest wait, in ms, for resources that are about to go away (a socket closing on the next
   * tick, a 5 ms timer) before they count as leaks. No wait at all when nothing is left over.
   * @default 100
   */
  readonly settleMs?: number
  /**
   * Count unref'd timers as leaks too (they do not keep the process alive).
   * @default false
   */
  readonly unrefTimers?: boolean
  /**
   * After reporting a leaked child process, terminate it (SIGTERM, then SIGKILL after a short grace).
   * @default true
   */
  readonly killLeakedChildren?: boolean
  /**
   * Fail a leaking test with a LeakError. `false` only reports (terminal, report.json), so a team
   * can adopt leakguard on a leaky suite and let `leakguard gate --baseline` block new leaks.
   * @default true
   */
  readonly failOnLeak?: boolean
}
