// The thread's own process object. Jest gives each test file's vm context a copy of `process`,
// made afresh for every file, and routes its getBuiltinModule through the file's module registry
// (so `getBuiltinModule('process')` is the copy too): state kept on the copy does not outlive the
// file. The host realm's global `process` is the thread's, and the same object everywhere else.
let thread: NodeJS.Process | undefined
export function threadProcess(): NodeJS.Process {
  thread ??= process.getBuiltinModule('node:vm').runInThisContext('process') as NodeJS.Process
  return thread
}
