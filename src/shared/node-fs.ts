// node:fs for the modules that load in every test process. An ES-module import of node:fs builds its ES-module
// face, which reads every export, and several are lazy: fs.promises, Dir, the watchers and the file streams (about
// 30 more modules, 3 ms, in each process of a node:test run, which otherwise never loads them). The CommonJS object,
// from getBuiltinModule, costs none of that. Call through it (`fs.readFileSync(...)`), so the functions are those
// in place at the call.
import { threadProcess } from './thread-process.js'

export const fs = threadProcess().getBuiltinModule('node:fs') as typeof import('node:fs')
