// `leakguard scenarios`: argv into the options of runScenarios(), then the table (or JSON). Exit 0 when every scenario
// that ran passed, 1 when one failed, 2 for bad flags.
import { parseArgs } from 'node:util'
import { formatTable, runScenarios, scenarios, validateScenarioOptions, type RunScenariosOptions } from '../scenarios/index.js'
import { EXIT_USAGE, type Command } from './main.js'

const FLAGS = {
  server: { type: 'string' },
  health: { type: 'string' },
  'slow-path': { type: 'string' },
  only: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

function help(): string {
  const width = Math.max(...scenarios.map((s) => s.name.length))
  return [
    'Usage: leakguard scenarios [--server "<command>"] [--health /path] [--slow-path "/slow?ms={ms}"] [--only name,...] [--json]',
    '',
    'Runs a server through every lifecycle scenario at once, each in its own process on its own ports, and prints',
    'one row per scenario. Without --server it runs the bundled reference server. Exit 0 when none failed.',
    '',
    'Options:',
    '  --server <command>   the server to test; it must read PORT and HOST from the environment. Run without a',
    '                       shell; leading NAME=value words set its environment',
    '  --health <path>      path answering 200 once the server is ready (default /health); needs --server',
    '  --slow-path <path>   path answering after {ms} milliseconds; enables the in-flight scenarios; needs --server',
    '  --only <names>       run only these scenarios (comma-separated, or repeat the flag)',
    '  --json               print the report as JSON instead of a table',
    '  -h, --help           show this help',
    '',
    'Scenarios (* also run against --server; + against --server given --slow-path):',
    ...scenarios.map((s) => `  ${s.needsSlowPath ? '+' : s.anyServer ? '*' : ' '} ${s.name.padEnd(width)}  ${s.summary}`),
    '',
  ].join('\n')
}

function usageError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string }
  const text = String(message ?? error)
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(text)?.[1] ?? text
    return `unknown flag \`${flag}\`; the flags are --server, --health, --slow-path, --only, --json (see --help).`
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--([\w-]+)/.exec(text)?.[0] ?? 'a flag'
    return `\`${flag}\` needs a value, e.g. --server "node dist/server.js" (see --help).`
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const word = /'([^']+)'/.exec(text)?.[1] ?? text
    return `unexpected argument \`${word}\`; quote the whole command: --server "${word} …" (see --help).`
  }
  // Our own option errors name the API option (`slowPath`); say the flag instead.
  return text.replace(/`slowPath`/g, '`--slow-path`').replace(/`(server|health|only)`/g, '`--$1`').split('\n')[0]!
}

export const scenariosCommand: Command = async (argv, io) => {
  let options: RunScenariosOptions
  let json: boolean
  try {
    const { values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false })
    if (values.help) {
      io.stdout(help())
      return 0
    }
    json = values.json ?? false
    const only = values.only?.flatMap((list) => list.split(',')).map((name) => name.trim()).filter(Boolean)
    options = {
      server: values.server,
      health: values.health,
      slowPath: values['slow-path'],
      only: only === undefined ? undefined : only,
      cwd: io.cwd,
      env: io.env,
    }
    validateScenarioOptions(options)
  } catch (error) {
    io.stderr(`leakguard scenarios: ${usageError(error)}\n`)
    return EXIT_USAGE
  }
  const report = await runScenarios(options)
  io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report))
  return report.ok ? 0 : 1
}
