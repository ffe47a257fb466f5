// The default logger: every level on stderr (console.error), so a program's stdout (a JSON readiness line, a CLI's
// output) stays its own.
import { afterEach, expect, test, vi } from 'vitest'
import { createLog } from '../../src/lifecycle/logger.js'

afterEach(() => {
  vi.restoreAllMocks()
})

test('the default logger sends error, warn and info to stderr, prefixed', () => {
  const spies = Object.fromEntries(
    (['error', 'warn', 'info', 'log', 'debug'] as const).map((method) => [method, vi.spyOn(console, method).mockImplementation(() => {})]),
  )
  const log = createLog(undefined)
  log.error('e')
  log.warn('w')
  log.info('i')
  expect(spies.error!.mock.calls).toEqual([['[leakguard] e'], ['[leakguard] w'], ['[leakguard] i']])
  for (const method of ['warn', 'info', 'log', 'debug']) expect(spies[method]!, `console.${method}`).not.toHaveBeenCalled()
})

test('an injected logger gets each level on its own method; false prints nothing', () => {
  const lines: string[] = []
  const log = createLog({ error: (m) => lines.push(`error ${m}`), info: (m) => lines.push(`info ${m}`) })
  log.error('e')
  log.warn('w') // no warn method: dropped
  log.info('i')
  expect(lines).toEqual(['error [leakguard] e', 'info [leakguard] i'])
  const error = vi.spyOn(console, 'error').mockImplementation(() => {})
  createLog(false).error('nothing')
  expect(error).not.toHaveBeenCalled()
})
