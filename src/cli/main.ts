// Argument dispatch for `leakguard <command>`: each command module turns argv into the options of
// an exported API and returns an exit code. Bad input is one line on stderr and exit code 2.
import { readFileSync } from 'node:fs'

export interface CliIO {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
}

export type Command = (argv: readonly string[], io: CliIO) => Promise<number>

/** Exit code for bad input (unknown flag, missing file, invalid report). */
export const EXIT_USAGE = 2

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  gate: {
    summary: 'exit 1 when a leak report has leaks outside the baseline',
    load: async () => (await import('./gate.js')).gateCommand,
  },
  scenarios: {
    summary: 'run a server through the lifecycle scenarios (the bundled reference server by default)',
    load: async () => (await import('./scenarios.js')).scenariosCommand,
  },
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return [
    'Usage: leakguard <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  --help     show help (also `leakguard <command> --help`)',
    '  --version  print the version',
    '',
  ].join('\n')
}

export const defaultIO: CliIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
}

/** Runs the CLI with these arguments and returns the exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout(help())
    return first === undefined ? EXIT_USAGE : 0
  }
  if (first === '--version' || first === '-v') {
    io.stdout(`${version()}\n`)
    return 0
  }
  const command = COMMANDS[first]
  if (!command) {
    io.stderr(`leakguard: unknown command \`${first}\`; run \`leakguard --help\` for the list (${Object.keys(COMMANDS).join(', ')}).\n`)
    return EXIT_USAGE
  }
  try {
    return await (await command.load())(rest, io)
  } catch (error) {
    // A bug, not bad input: still one line, with the way to get the details.
    io.stderr(`leakguard ${first}: ${(error as Error)?.message ?? String(error)} (set LEAKGUARD_DEBUG=1 for the stack)\n`)
    if (io.env.LEAKGUARD_DEBUG) io.stderr(`${(error as Error)?.stack}\n`)
    return 1
  }
}
