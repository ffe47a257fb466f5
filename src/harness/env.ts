// The environment switch: LEAKGUARD=0 (or off/false) turns leakguard off without touching config.
export function disabledByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.LEAKGUARD?.trim().toLowerCase()
  return v === '0' || v === 'off' || v === 'false' || v === 'no'
}

/** Key under which the plugin hands its options to the setup file through Vitest's `provide`. */
export const PROVIDE_KEY = 'leakguard'
