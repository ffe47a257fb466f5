// LeakError: the `leakguard` entry folds in a copy of it; instanceof holds across copies.
import { expect, test } from 'vitest'
import { LeakError } from 'leakguard'
import { LeakError as DetectorLeakError } from '../../src/detector/errors.js'

test('a LeakError from another copy of the class is a LeakError', () => {
  expect(LeakError).not.toBe(DetectorLeakError)
  const fromHarness = new DetectorLeakError([], 'test')
  expect(fromHarness).toBeInstanceOf(LeakError)
  expect(new LeakError([], 'file')).toBeInstanceOf(DetectorLeakError)
  expect(fromHarness).toBeInstanceOf(Error)
  expect(new Error('not a leak')).not.toBeInstanceOf(LeakError)
  expect(Object.assign(new Error('look-alike'), { name: 'LeakError' })).not.toBeInstanceOf(LeakError)
})
