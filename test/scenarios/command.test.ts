// `--server` is split like a shell would split it, but never run through one.
import { expect, test } from 'vitest'
import { parseCommand } from '../../dist/scenarios/index.js'

test.each([
  ['node dist/server.js', {}, ['node', 'dist/server.js']],
  ['  node   dist/server.js  --quiet ', {}, ['node', 'dist/server.js', '--quiet']],
  ['PORT_OFFSET=1 A= node s.js', { PORT_OFFSET: '1', A: '' }, ['node', 's.js']],
  [`node "dist/my server.js" 'it''s' a\\ b`, {}, ['node', 'dist/my server.js', 'its', 'a b']],
  [`node -e "console.log(\\"hi\\")" ''`, {}, ['node', '-e', 'console.log("hi")', '']],
  ['node s.js X=1', {}, ['node', 's.js', 'X=1']],
] as const)('%s', (command, env, argv) => {
  expect(parseCommand(command)).toEqual({ env, argv })
})

test.each([
  ['node s.js && echo done', /run without a shell, so `&` cannot be used/],
  ['node s.js > log', /`>` cannot be used/],
  ['node $HOME/s.js', /`\$` cannot be used/],
  ["node 's.js", /unclosed ' quote/],
  ['FOO=1', /names no command/],
  ['   ', /names no command/],
])('%s is refused: %s', (command, message) => {
  expect(() => parseCommand(command)).toThrow(message)
})
