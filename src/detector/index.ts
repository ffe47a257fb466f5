// Runner-agnostic detector: brackets, trackers, settle, leak descriptions.
export { LEAK_KINDS, type Leak, type LeakKind, type AllowEntry, type DetectorOptions } from './types.js'
export { LeakError, formatLeaks, displaySite } from './errors.js'
export { installHooks, MARK_ENV } from './hooks.js'
export { state, openBracket, closeBracket, allowInCurrent, ignoreResource, type Bracket } from './registry.js'
export { closeAndCollect } from './detect.js'
export { validateOptions, DEFAULTS, type ResolvedOptions, assertKind, serializeAllow, deserializeAllow, type SerializedAllow } from './options.js'
