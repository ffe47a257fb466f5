// `vitest bench` with the plugin: Vitest 3 and 4 run benchmarks with a runner of their own, which
// leakguard's runner hands over to untouched. (Vitest 5 has no separate benchmark mode.)
import { expect, test } from 'vitest'
import { join } from 'node:path'
import { startVitest } from 'vitest/node'
import { leakguard } from 'leakguard/vitest'
import { Sink } from './helpers/run-vitest.js'

const major = Number((await import('vitest/package.json', { with: { type: 'json' } })).default.version.split('.')[0])

test.skipIf(major >= 5)('benchmarks run under the plugin (Vitest 3 and 4)', async () => {
  const sink = new Sink()
  const exitCode = process.exitCode
  const vitest = await startVitest(
    // Vitest 5's types know only 'test'.
    'benchmark' as string as Parameters<typeof startVitest>[0],
    [],
    { root: join(import.meta.dirname, 'fixtures', 'bench'), config: false, watch: false, benchmark: { include: ['*.bench.ts'] } } as never,
    { plugins: [leakguard() as never] },
    { stdout: sink, stderr: sink },
  )
  try {
    const [file] = vitest.state.getFiles()
    expect(file?.result?.state, sink.text).toBe('pass')
    const sum = file!.tasks[0] as unknown as { name: string; result?: { benchmark?: { hz: number } } }
    expect(sum.name).toBe('sum')
    expect(sum.result?.benchmark?.hz).toBeGreaterThan(0)
  } finally {
    await vitest.close()
    process.exitCode = exitCode
  }
})
