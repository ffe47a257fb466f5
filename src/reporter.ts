// Vitest reporters entry: `reporters: ['default', 'leakguard/reporter']`.
export { default } from './reporters/reporter.js'
export type { LeakguardReporterOptions } from './reporters/reporter.js'
