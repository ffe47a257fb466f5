// The README's sample output is the real output of examples/quick-start.
import { expect, test } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runFixtures, ROOT } from './helpers/run-vitest.js'

const normalize = (text: string) =>
  text
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .trim()

test('the quick start prints what the README shows', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /<!-- quick-start-output -->\s*```\n([\s\S]*?)```\s*<!-- \/quick-start-output -->/.exec(readme)
  expect(block, 'README quick-start output block').not.toBeNull()
  const expected = normalize(block![1]!)

  const quickStart = join(ROOT, 'examples', 'quick-start')
  const run = await runFixtures(quickStart, ['*.test.ts'], { cwd: quickStart })
  const output = normalize(run.output)
  expect(output).toContain(expected)
  expect(run.tests.get('api.test.ts > creates a user')?.state).toBe('failed')
})
