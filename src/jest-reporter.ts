// Jest reporters entry: `reporters: ['default', 'leakguard/jest-reporter']`.
export { default } from './reporters/jest-reporter.js'
export type { LeakguardJestReporterOptions } from './reporters/jest-reporter.js'
