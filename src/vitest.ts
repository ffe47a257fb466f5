// vitest.config entry: the leakguard() plugin.
export { leakguard, type LeakguardOptions, type LeakguardPlugin } from './harness/plugin.js'
