// `--server "PORT_OFFSET=1 node dist/server.js --quiet"` into an environment and an argv, the way a shell would split
// it (quotes and backslashes), without running a shell: the runner's signals then reach the server itself.

export interface ParsedCommand {
  readonly env: Readonly<Record<string, string>>
  readonly argv: readonly string[]
}

/**
 * Splits a command line. Leading `NAME=value` words become environment variables.
 *
 * @example
 * parseCommand(`ADMIN_PORT=0 node "dist/my server.js"`) // { env: { ADMIN_PORT: '0' }, argv: ['node', 'dist/my server.js'] }
 */
export function parseCommand(command: string): ParsedCommand {
  if (typeof command !== 'string') throw new TypeError('`server` must be a command line such as "node dist/server.js".')
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) word += command[++i]
      else word += c
    } else if (c === "'" || c === '"') {
      quote = c
      inWord = true
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else if ('|&;<>()$`'.includes(c)) {
      throw new RangeError(
        `\`server\` is run without a shell, so \`${c}\` cannot be used in it; put the pipeline in a script and pass \`sh script.sh\` or \`node script.js\`.`,
      )
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) throw new RangeError(`\`server\` has an unclosed ${quote} quote: ${command}`)
  if (inWord) words.push(word)
  const env: Record<string, string> = {}
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) {
    const assignment = words.shift()!
    const at = assignment.indexOf('=')
    env[assignment.slice(0, at)] = assignment.slice(at + 1)
  }
  if (words.length === 0) throw new RangeError('`server` names no command; pass something like "node dist/server.js".')
  return { env, argv: words }
}
