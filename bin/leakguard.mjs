#!/usr/bin/env node
// The leakguard command: a thin shell over the exported CLI API.
import { main } from '../dist/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
