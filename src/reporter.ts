// Vitest reporters entry: `reporters: ['default', 'leakguard/reporter']`.
export { default } from './reporters/reporter.js'
export type { LeakguardReporterOptions } from './reporters/reporter.js'
// The gate and the report schema, for CI scripts: every CLI feature is reachable from code.
export {
  gate,
  formatGateResult,
  readBaseline,
  DEFAULT_BASELINE,
  type GateOptions,
  type GateResult,
  type Baseline,
  type BaselineEntry,
} from './reporters/gate.js'
export {
  readReport,
  ReportInputError,
  SCHEMA_VERSION,
  DEFAULT_OUTPUT,
  type Report,
  type ReportLeak,
  type ReportTotals,
} from './reporters/schema.js'
