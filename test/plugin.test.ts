// The plugin's wiring: leakguard's runner by default, the setup file next to a runner of the project's own.
import { describe, expect, test } from 'vitest'
import { leakguard } from 'leakguard/vitest'

const configured = (testConfig: Record<string, unknown>) => {
  const config = { test: { ...testConfig } as Record<string, any> }
  leakguard().config(config)
  return config.test
}
const isRunner = (p: unknown) => typeof p === 'string' && /[/\\]dist[/\\]harness[/\\]runner\.js$/.test(p)
const isSetup = (p: unknown) => typeof p === 'string' && /[/\\]dist[/\\]harness[/\\]setup\.js$/.test(p)

describe('the plugin', () => {
  test('installs its runner and no setup file when the project has no runner', () => {
    const t = configured({ setupFiles: ['./my-setup.ts', 'leakguard/setup'] })
    expect(isRunner(t.runner)).toBe(true)
    expect(t.setupFiles).toEqual(['./my-setup.ts'])
  })

  test("keeps the project's runner and puts its setup file first", () => {
    const t = configured({ runner: './my-runner.ts', setupFiles: './my-setup.ts' })
    expect(t.runner).toBe('./my-runner.ts')
    expect(t.setupFiles).toHaveLength(2)
    expect(isSetup(t.setupFiles[0])).toBe(true)
    expect(t.setupFiles[1]).toBe('./my-setup.ts')
  })

  test('adds the setup file when the final runner is not its own (--runner on the command line)', () => {
    const t = configured({})
    const project = { config: { runner: '/repo/cli-runner.ts', setupFiles: ['/repo/my-setup.ts'] } }
    leakguard().configureVitest({ project })
    expect(isSetup(project.config.setupFiles[0])).toBe(true)
    expect(project.config.setupFiles.slice(1)).toEqual(['/repo/my-setup.ts'])
    // With its own runner in place, nothing changes.
    const own = { config: { runner: t.runner as string, setupFiles: ['/repo/my-setup.ts'] } }
    leakguard().configureVitest({ project: own })
    expect(own.config.setupFiles).toEqual(['/repo/my-setup.ts'])
  })
})
