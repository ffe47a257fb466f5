// `leakguard gate [report.json] [--baseline path] [--update-baseline]`: argv → gate() → text.
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_BASELINE, formatGateResult, gate } from '../reporters/gate.js'
import { DEFAULT_OUTPUT, ReportInputError } from '../reporters/schema.js'
import { EXIT_USAGE, type Command } from './main.js'

const HELP = `Usage: leakguard gate [report.json] [--baseline <path>] [--update-baseline]

Fails (exit 1) when the leak report has leaks that the baseline does not accept.

Arguments:
  report.json              the reporter's output (default: ${DEFAULT_OUTPUT})

Options:
  --baseline <path>        accepted leaks (default: ${DEFAULT_BASELINE}; a missing default is empty)
  --update-baseline        write the report's leaks as the baseline, dropping fixed ones
  -h, --help               show this help

Exit codes: 0 no new leaks, 1 new leaks, 2 bad input.
`

function usageError(error: unknown): string {
  const e = error as { code?: string; message?: string }
  const name = /'(-[^' ]+)/.exec(e.message ?? '')?.[1]
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option \`${name ?? '?'}\`; run \`leakguard gate --help\` for the options.`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return name === '--baseline'
        ? '`--baseline` needs a path, e.g. `--baseline .leakguard/baseline.json`.'
        : `\`${name ?? '?'}\` takes no value; run \`leakguard gate --help\` for the options.`
    default:
      return `${e.message ?? String(error)}; run \`leakguard gate --help\` for the usage.`
  }
}

export const gateCommand: Command = async (argv, io) => {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        baseline: { type: 'string' },
        'update-baseline': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    io.stderr(`leakguard gate: ${usageError(error)}\n`)
    return EXIT_USAGE
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.stdout(HELP)
    return 0
  }
  if (positionals.length > 1) {
    io.stderr(`leakguard gate: expected one report file, got ${positionals.length} (${positionals.join(', ')}); pass a single path.\n`)
    return EXIT_USAGE
  }
  try {
    const result = gate({
      report: positionals[0],
      baseline: values.baseline,
      updateBaseline: values['update-baseline'] ?? false,
      cwd: io.cwd,
    })
    const show = (path: string): string => {
      const rel = relative(io.cwd, path)
      return rel && !rel.startsWith('..') ? rel : path
    }
    io.stdout(formatGateResult(result, show))
    return result.exitCode
  } catch (error) {
    if (error instanceof ReportInputError || error instanceof TypeError) {
      io.stderr(`leakguard gate: ${error.message}\n`)
      return EXIT_USAGE
    }
    throw error
  }
}
