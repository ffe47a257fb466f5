// The leak zoo's verdicts (test/fixtures/zoo): every kind of leak, and every case that is not one.
// The same list holds under every test runner: Vitest (zoo.test.ts), node:test and Jest.

import { readFileSync } from 'node:fs'

/** 'gone' when the process has exited (a zombie has: only its exit status is left), else its /proc stat line. */
export function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z' ? 'gone' : stat
  } catch {
    return 'gone'
  }
}

export interface LeakCase {
  readonly file: string
  readonly test: string
  readonly kind: string
  readonly site: string | null
  readonly description: RegExp
  readonly hint: RegExp
}

export const LEAKS: readonly LeakCase[] = [
  { file: 'timers.test.ts', test: 'leaks an interval', kind: 'timer', site: 'interval', description: /^setInterval every 1000 ms$/, hint: /clearInterval/ },
  { file: 'timers.test.ts', test: 'leaks a 60 s timeout', kind: 'timer', site: 'timeout', description: /^setTimeout of 60000 ms$/, hint: /clearTimeout/ },
  { file: 'timers.test.ts', test: 'leaks a timer made with node:timers', kind: 'timer', site: 'node-timers', description: /^setTimeout of 30000 ms$/, hint: /clearTimeout/ },
  { file: 'timers.test.ts', test: 'a leaked interval that keeps creating resources > leaks the interval', kind: 'timer', site: 'creating-interval', description: /^setInterval every 200 ms$/, hint: /clearInterval/ },
  { file: 'servers.test.ts', test: 'servers > leaks an http server', kind: 'server', site: 'http-server', description: /^HTTP server listening on 127\.0\.0\.1:\d+$/, hint: /server\.close\(\)/ },
  { file: 'servers.test.ts', test: 'servers > leaks a net server', kind: 'server', site: 'net-server', description: /^TCP server listening on 127\.0\.0\.1:\d+$/, hint: /server\.close\(\)/ },
  { file: 'sockets.test.ts', test: 'leaks a TCP client socket', kind: 'socket', site: 'tcp', description: /^TCP connection to 127\.0\.0\.1:\d+$/, hint: /socket\.(end|destroy)\(\)/ },
  { file: 'sockets.test.ts', test: 'leaks a UDP socket', kind: 'socket', site: 'udp', description: /^UDP socket bound to 127\.0\.0\.1:\d+$/, hint: /socket\.close\(\)/ },
  { file: 'processes.test.ts', test: 'leaks a child process', kind: 'child-process', site: 'child', description: /^child process \d+ \(sleep 30\)$/, hint: /child\.kill\(\)/ },
  { file: 'processes.test.ts', test: "leaks a detached, unref'd child", kind: 'child-process', site: 'detached', description: /^child process \d+ \(sleep 31\)$/, hint: /child\.kill\(\)/ },
  { file: 'processes.test.ts', test: 'leaks a grandchild whose parent exited', kind: 'child-process', site: 'grandchild', description: /^process \d+ \(sleep 32\), a descendant of child process \d+/, hint: /process\.kill\(-child\.pid\)/ },
  { file: 'processes.test.ts', test: 'leaks a cluster worker', kind: 'child-process', site: 'cluster', description: /^cluster worker \d+ \(.*cluster-worker\.cjs/, hint: /cluster\.disconnect\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks a worker thread', kind: 'worker', site: 'worker', description: /^worker thread \d+ \(setInterval/, hint: /worker\.terminate\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks a file descriptor', kind: 'file-descriptor', site: 'fd', description: /^file descriptor \d+ open on .*workers-fds\.test\.ts$/, hint: /fs\.closeSync\(fd\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks a FileHandle', kind: 'file-descriptor', site: 'filehandle', description: /^FileHandle \(fd \d+\) open on .*workers-fds\.test\.ts$/, hint: /handle\.close\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks a file stream', kind: 'file-descriptor', site: 'stream', description: /^file stream \(fd \d+\) open on .*workers-fds\.test\.ts$/, hint: /stream\.destroy\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks a directory handle', kind: 'file-descriptor', site: 'dir', description: /^directory handle \(fs\.Dir\) open on .*zoo\/?$/, hint: /dir\.close\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks an fs.watch watcher', kind: 'watcher', site: 'watch', description: /^fs\.watch watcher on .*workers-fds\.test\.ts$/, hint: /watcher\.close\(\)/ },
  { file: 'workers-fds.test.ts', test: 'leaks an fs.watchFile poller', kind: 'watcher', site: 'watchfile', description: /^fs\.watchFile poller on .*workers-fds\.test\.ts$/, hint: /unwatchFile/ },
  { file: 'workers-fds.test.ts', test: 'leaks a message port', kind: 'other', site: null, description: /^1 active MessagePort resource/, hint: /port\.close\(\)/ },
  { file: 'concurrent.test.ts', test: 'concurrent > the leaky one', kind: 'server', site: 'concurrent-server', description: /^HTTP server listening on 127\.0\.0\.1:\d+$/, hint: /server\.close\(\)/ },
  { file: 'fake-timers.test.ts', test: 'a real leak is caught while fake timers are on', kind: 'server', site: 'fake-server', description: /^HTTP server listening/, hint: /server\.close\(\)/ },
  { file: 'allow.test.ts', test: 'allowLeaks is per kind', kind: 'server', site: 'allow-server', description: /^TCP server listening/, hint: /server\.close\(\)/ },
  { file: 'precision.test.ts', test: 'pools > leaks a keep-alive http.Agent it made', kind: 'socket', site: 'own-agent', description: /^idle keep-alive TCP connection to 127\.0\.0\.1:\d+ kept in an http\.Agent pool$/, hint: /agent\.destroy\(\)/ },
  { file: 'precision.test.ts', test: 'owned by whoever created it > leaks an fs.watchFile listener', kind: 'watcher', site: 'watchfile-first', description: /^fs\.watchFile poller on .*watched\.txt$/, hint: /unwatchFile/ },
  { file: 'precision.test.ts', test: 'owned by whoever created it > leaks an fs.watch watcher whose events start timers', kind: 'watcher', site: 'watch-throttle', description: /^fs\.watch watcher on /, hint: /watcher\.close\(\)/ },
  { file: 'precision.test.ts', test: 'accepted connections > leaks the connection its own server accepted', kind: 'socket', site: 'accepted', description: /^connection accepted by the test's server on 127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+, still open$/, hint: /closeAllConnections/ },
  { file: 'file-level.test.ts', test: 'hooks > a test leak is not reported again for the file', kind: 'timer', site: 'test-interval', description: /^setInterval every 2000 ms$/, hint: /clearInterval/ },
]

export const CLEAN: readonly [string, string][] = [
  ['timers.test.ts', 'a 5 ms timer is not a leak'],
  ['timers.test.ts', 'a cleared interval is not a leak'],
  ['timers.test.ts', "an unref'd timer is not a leak by default"],
  ['timers.test.ts', 'a leaked interval that keeps creating resources > a clean test running while it fires is not blamed'],
  ['servers.test.ts', 'servers > a closed server is not a leak'],
  ['servers.test.ts', 'servers > fetch() to a server from beforeAll is not a leak'],
  ['servers.test.ts', 'servers > http.get() to a server from beforeAll is not a leak'],
  ['sockets.test.ts', 'a destroyed socket is not a leak'],
  ['sockets.test.ts', 'a socket ended at the last moment is not a leak'],
  ['processes.test.ts', 'a child that was stopped is not a leak'],
  ['processes.test.ts', 'a child that finished is not a leak'],
  ['processes.test.ts', 'a cluster that was disconnected and awaited is not a leak'],
  ['workers-fds.test.ts', 'a terminated worker is not a leak'],
  ['workers-fds.test.ts', 'a closed descriptor is not a leak'],
  ['workers-fds.test.ts', 'a directory read to the end is not a leak'],
  ['workers-fds.test.ts', 'a stream read to the end is not a leak'],
  ['concurrent.test.ts', 'concurrent > a clean neighbour'],
  ['fake-timers.test.ts', 'fake timers are not leaks'],
  ['allow.test.ts', 'allowLeaks lets a test keep a timer'],
  ['allow.test.ts', 'an allow entry by site'],
  ['file-level.test.ts', 'hooks > a clean test in a leaky file passes'],
  ['harness.test.ts', 'runs under the expected harness'],
  // Each of these was a false alarm once (issue 10): released a moment later, judged by state,
  // owned by its pool or by whoever created it.
  ['precision.test.ts', 'released a moment later > a close-handshake timer cleared when the peer answers'],
  ['precision.test.ts', "released a moment later > a handler's timer cleared from req.on('close') after an aborted request"],
  ['precision.test.ts', 'state, not events > fs.watch closed in an async test'],
  ['precision.test.ts', 'state, not events > a UDP socket closed without waiting'],
  ['precision.test.ts', "pools > an idle connection in a library's module-level http.Agent"],
  ['precision.test.ts', 'pools > an idle connection in an http.Agent from beforeAll'],
  ['precision.test.ts', 'pools > an idle TLS connection in an https.Agent from beforeAll'],
  ['precision.test.ts', 'pools > an idle connection in an undici Agent from beforeAll'],
  ['precision.test.ts', 'pools > an idle TLS connection in an undici Agent from beforeAll'],
  ['precision.test.ts', 'pools > an idle HTTP/2 connection in an undici Agent from beforeAll'],
  ['precision.test.ts', "no OS resource > an interceptor's mock socket: a handle that never dials"],
  ['precision.test.ts', "owned by whoever created it > adding and removing its own listener on another test's watchFile poller"],
  ['precision.test.ts', "owned by whoever created it > a later test is not blamed for the leaked watcher's timers"],
]
