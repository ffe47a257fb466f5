import { defineConfig } from 'vitest/config'
import { leakguard } from 'leakguard/vitest'

export default defineConfig({
  plugins: [leakguard()],
})
