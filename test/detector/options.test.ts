// Option validation: bad input is a TypeError/RangeError naming the option and the fix.
import { describe, expect, test } from 'vitest'
import { leakguard } from 'leakguard/vitest'
import { allowLeaks } from 'leakguard'
import { deserializeAllow, serializeAllow, validateOptions } from '../../src/detector/options.js'

describe('validateOptions', () => {
  const cases: [unknown, RegExp][] = [
    ['fast', /options must be an object/],
    [{ settleMs: -1 }, /`settleMs` must be a number of milliseconds ≥ 0; received -1/],
    [{ settleMs: '100' }, /`settleMs` must be a number/],
    [{ unrefTimers: 'yes' }, /`unrefTimers` must be true or false/],
    [{ killLeakedChildren: 1 }, /`killLeakedChildren` must be true or false/],
    [{ allow: 'timer' }, /`allow` must be an array/],
    [{ allow: ['timers'] }, /`allow\[0\]` must be one of 'timer', 'server'/],
    [{ allow: [{ kind: 'sockets' }] }, /`allow\[0\]\.kind` must be one of/],
    [{ allow: [{ site: 42 }] }, /`allow\[0\]\.site` must be a string or a RegExp/],
    [{ allow: [{}] }, /`allow\[0\]` needs a `kind`, a `site`, or both/],
    [{ setleMs: 10 }, /unknown option `setleMs`/],
  ]
  test.each(cases)('%j is refused', (input, message) => {
    expect(() => validateOptions(input)).toThrow(message)
  })

  test('defaults', () => {
    expect(validateOptions(undefined)).toEqual({ allow: [], settleMs: 100, unrefTimers: false, killLeakedChildren: true, failOnLeak: true })
  })

  test('the plugin validates when it is created', () => {
    expect(() => leakguard({ settleMs: -5 })).toThrow(RangeError)
    expect(() => leakguard({ outputFile: '' })).toThrow(/`outputFile` must be a non-empty path/)
  })

  test('allowLeaks() checks its kinds', () => {
    expect(() => allowLeaks('timers' as never)).toThrow(/allowLeaks\(\) argument 1 must be one of/)
    expect(() => (allowLeaks as () => void)()).toThrow(/needs at least one kind/)
  })
})

test('allow entries survive the trip through provide, RegExps included', () => {
  const allow = ['timer', { kind: 'socket', site: /node_modules\/pg\//i }, { site: 'cache.ts' }] as const
  const back = deserializeAllow(JSON.parse(JSON.stringify(serializeAllow(allow))))
  expect(back).toEqual(['timer', { kind: 'socket', site: /node_modules\/pg\//i }, { site: 'cache.ts' }])
})
