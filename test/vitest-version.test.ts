// Which Vitest leakguard accepts, and the one start-up error for an older one.
import { describe, expect, test } from 'vitest'
import LeakguardReporter from 'leakguard/reporter'
import { atLeast, MIN_VITEST, unsupportedVitest } from '../src/shared/vitest-version.js'
import { VITEST_VERSION } from './helpers/vitest-version.js'

describe('the supported range', () => {
  test.each(['3.1.0', '3.1.4', '3.2.7', '4.0.18', '4.1.12', '5.0.0', '5.0.0-beta.1'])('Vitest %s is supported', (v) => {
    expect(unsupportedVitest(v)).toBeNull()
  })

  test.each(['3.0.9', '2.1.9', '1.6.0'])('Vitest %s gets one error naming the version needed and the upgrade', (v) => {
    const error = unsupportedVitest(v)
    expect(error?.message).toBe(
      `leakguard needs Vitest ${MIN_VITEST} or later; this is Vitest ${v}. Upgrade with \`npm i -D vitest@latest\` (or at least \`npm i -D vitest@^3.1.0\`).`,
    )
    expect(error?.message).not.toContain('\n')
  })

  test('the Vitest running this suite is supported', () => {
    expect(unsupportedVitest(VITEST_VERSION)).toBeNull()
  })

  test('atLeast compares major, then minor', () => {
    expect([atLeast('4.0.0', 3, 1), atLeast('3.1.0', 3, 1), atLeast('3.0.9', 3, 1), atLeast('2.9.0', 3, 0)]).toEqual([true, true, false, false])
  })
})

describe('the reporter, wired by hand', () => {
  const fakeVitest = (version: string) => ({ version, onClose: () => {}, config: { root: process.cwd() } }) as never

  test('stops an old Vitest in onInit, before any test runs', () => {
    expect(() => new LeakguardReporter().onInit(fakeVitest('3.0.9'))).toThrow(/^leakguard needs Vitest 3\.1\.0 or later; this is Vitest 3\.0\.9\./)
  })
})
