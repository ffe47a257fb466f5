#!/usr/bin/env node
// Re-runs leakguard over public projects' Vitest suites (the "Tested on" section of the README) and
// tabulates what it finds. Their code is not part of leakguard: check each project out yourself
// (one sub-folder per project, named as in PROJECTS below, at the commit the README names), and
// install its dependencies once (`pnpm install`; pnpm 10, with `manage-package-manager-versions`
// off where a project pins pnpm 11).
//
//   npm pack && node scripts/survey.mjs --repos ../survey/repos --tarball leakguard-0.1.0.tgz \
//     [--out DIR] [--only a,b] [--no-install] [--fail] [--runs N]
//
//   --repos       the folder of checkouts
//   --tarball     the leakguard tarball to install into each (`npm pack`)
//   --out         where reports and logs go (default: survey-out in the working directory)
//   --only        comma-separated project names (default: every project in PROJECTS checked out)
//   --no-install  reuse the leakguard already installed in each checkout's node_modules
//   --fail        also run once with leakguard's defaults (failOnLeak: true) and count failed tests
//   --runs        leakguard-on runs per project (default 2: two runs must find the same)
//
// These projects need Node >= 22; pnpm and Node 24 from npm (`npm i pnpm@10 node@24`) on PATH.
// For each project it: (1) saves package.json and the lockfile, `pnpm add -D file:<tarball>`, then
// restores both files, so only node_modules changes; (2) writes a wrapper config next to the
// project's own (`vitest.leakguard-survey.config.mjs`) that imports it and adds
// `plugins: [leakguard({ failOnLeak: false })]`; (3) runs the suite once with LEAKGUARD=0, then N
// times with the wrapper; (4) removes the wrapper. Reports land in <out>/<project>-on<i>.json,
// logs in <out>/<project>-<run>.log. The table: project, commit, vitest, tests, findings (run 1 /
// run 2, and whether both runs found the same, ignoring ports), findings by kind, wall time off / on.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// Per project: its repository, the Vitest config file, extra CLI args (file subset, typecheck off), env.
const PROJECTS = {
  httpxy: { repo: 'unjs/httpxy', config: 'vitest.config.mjs', args: ['--typecheck.enabled=false'] },
  // ofetch pins Vitest 4.0.5 (leakguard's runner before 4.1); one test needs the internet
  ofetch: { repo: 'unjs/ofetch', config: 'vitest.config.ts', args: [] },
  listhen: { repo: 'unjs/listhen', config: 'vitest.config.ts', args: [] },
  'http-proxy-3': { repo: 'sagemathinc/http-proxy-3', config: 'vitest.config.ts', args: [], env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } },
  // h3: the whole suite takes ~210 s on 2 cores; a subset of the files that serve through node:http
  h3: {
    repo: 'h3js/h3',
    config: 'vitest.config.mjs',
    args: ['--typecheck.enabled=false', 'test/proxy.test.ts', 'test/sse.test.ts', 'test/stream.test.ts', 'test/ws.test.ts', 'test/json-rpc-ws.test.ts', 'test/body.test.ts', 'test/app.test.ts', 'test/dispose.test.ts'],
  },
  // nypm: api.test.ts runs real npm/pnpm installs (child processes, the registry), and rewrites
  // fixtures, which are reset with git after every run; 2 dlx tests fail off and on (npm exec)
  nypm: { repo: 'unjs/nypm', config: 'vitest.config.ts', args: ['test/api.test.ts', 'test/cmd.test.ts'], reset: ['test/fixtures'] },
  // @mswjs/interceptors: the 'node' project only, and only test/modules/http/{compliance,regressions}
  interceptors: { repo: 'mswjs/interceptors', config: 'vitest.config.ts', args: ['--project', 'node', 'test/modules/http/compliance', 'test/modules/http/regressions'] },
  // unstorage: no vitest config of its own; the fs (chokidar watchers), http (server) and storage files
  unstorage: {
    repo: 'unjs/unstorage',
    config: null,
    args: ['test/drivers/fs.test.ts', 'test/drivers/fs-lite.test.ts', 'test/drivers/http.test.ts', 'test/drivers/memory.test.ts', 'test/drivers/overlay.test.ts', 'test/server.test.ts', 'test/storage.test.ts'],
  },
}

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const flag = (name) => argv.includes(`--${name}`)
const reposDir = opt('repos', null)
const tarballArg = opt('tarball', null)
if (!reposDir || !tarballArg) {
  console.error('survey: --repos DIR and --tarball FILE.tgz are both needed (see the top of scripts/survey.mjs)')
  process.exit(2)
}
// pnpm reuses a tarball it has installed before from the same path, even after it changed: each
// build is installed from a copy named by its content.
const tarball = (() => {
  const bytes = fs.readFileSync(path.resolve(tarballArg))
  const named = path.join(os.tmpdir(), `leakguard-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.tgz`)
  fs.writeFileSync(named, bytes)
  return named
})()
const outDir = path.resolve(opt('out', 'survey-out'))
const runs = Number(opt('runs', '2'))
const only = opt('only', null)?.split(',')
fs.mkdirSync(outDir, { recursive: true })

const WRAPPER = 'vitest.leakguard-survey.config.mjs'
const pnpm = 'pnpm'

function wrapperSource(config) {
  return `// written by leakguard's scripts/survey.mjs; removed after the run
${config ? `import base from './${config}'` : 'const base = {}'}
import { mergeConfig } from 'vitest/config'
import { leakguard } from 'leakguard/vitest'
const opts = process.env.SURVEY_LG_FAIL === '1' ? {} : { failOnLeak: false }
const resolved = typeof base === 'function' ? await base({ mode: 'test', command: 'serve' }) : await base
export default mergeConfig(resolved, { plugins: [leakguard(opts)] })
`
}

function sh(cmd, args, cwd, env = {}) {
  return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function installLeakguard(dir, upgrade = []) {
  const keep = ['package.json', 'pnpm-lock.yaml', 'package-lock.json'].filter((f) => fs.existsSync(path.join(dir, f)))
  const saved = keep.map((f) => [f, fs.readFileSync(path.join(dir, f))])
  const isWorkspace = fs.existsSync(path.join(dir, 'pnpm-workspace.yaml'))
  try {
    sh(pnpm, ['add', '-D', ...(isWorkspace ? ['-w'] : []), `file:${tarball}`, ...upgrade, '--ignore-scripts', '--config.manage-package-manager-versions=false', '--config.confirm-modules-purge=false'], dir)
  } finally {
    for (const [f, buf] of saved) fs.writeFileSync(path.join(dir, f), buf)
  }
}

let resetPaths = []
function runVitest(dir, name, run, config, extra, env) {
  const log = path.join(outDir, `${name}-${run}.log`)
  const t0 = Date.now()
  const r = spawnSync('npx', ['vitest', 'run', ...(config ? ['-c', config] : []), ...extra], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', CI: '1', ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 15 * 60 * 1000,
  })
  const wall = (Date.now() - t0) / 1000
  for (const p of resetPaths) {
    spawnSync('git', ['checkout', '--', p], { cwd: dir })
    spawnSync('git', ['clean', '-fdxq', '--', p], { cwd: dir })
  }
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`
  fs.writeFileSync(log, text)
  const m = /^\s*Tests\s+(.*)$/m.exec(text)
  const counts = {}
  if (m) for (const part of m[1].matchAll(/(\d+) (failed|passed|skipped|todo)/g)) counts[part[2]] = Number(part[1])
  return { wall, status: r.status, counts, log }
}

function readReport(dir, name, run) {
  const p = path.join(dir, '.leakguard', 'report.json')
  if (!fs.existsSync(p)) return null
  const dest = path.join(outDir, `${name}-${run}.json`)
  fs.copyFileSync(p, dest)
  fs.rmSync(p)
  return JSON.parse(fs.readFileSync(dest, 'utf8'))
}

// A finding without its ports and pids, so two runs can be compared.
const key = (l) => `${l.file}|${l.test}|${l.kind}|${l.site}|${l.description.replace(/\d{2,}/g, 'N')}`

const rows = []
for (const name of Object.keys(PROJECTS)) {
  if (only && !only.includes(name)) continue
  const dir = path.resolve(reposDir, name)
  if (!fs.existsSync(dir)) continue
  const p = PROJECTS[name]
  const env = p.env ?? {}
  resetPaths = p.reset ?? []
  console.error(`== ${name}`)
  const commit = sh('git', ['rev-parse', '--short=12', 'HEAD'], dir).trim()
  if (!flag('no-install')) installLeakguard(dir, p.upgrade)
  const vitest = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/vitest/package.json'), 'utf8')).version
  fs.writeFileSync(path.join(dir, WRAPPER), wrapperSource(p.config))
  try {
    const off = runVitest(dir, name, 'off', p.config, p.args, { ...env, LEAKGUARD: '0' })
    const on = []
    for (let i = 1; i <= runs; i++) {
      const r = runVitest(dir, name, `on${i}`, WRAPPER, p.args, env)
      r.report = readReport(dir, name, `on${i}`)
      on.push(r)
    }
    let fail = null
    if (flag('fail')) {
      fail = runVitest(dir, name, 'fail', WRAPPER, p.args, { ...env, SURVEY_LG_FAIL: '1' })
      fail.report = readReport(dir, name, 'fail')
    }
    const lists = on.map((r) => (r.report?.leaks ?? []).map(key).sort().join('\n'))
    const same = lists.every((l) => l === lists[0])
    const byKind = on[0].report ? Object.entries(on[0].report.totals.byKind).filter(([, n]) => n).map(([k, n]) => `${k}:${n}`).join(' ') : '-'
    rows.push({
      project: name,
      commit,
      vitest,
      tests: `${off.counts.passed ?? 0}p/${off.counts.failed ?? 0}f off; ${on[0].report?.totals.testsChecked ?? '?'} checked on`,
      findings: on.map((r) => r.report?.totals.leaks ?? 'no report').join(' / ') + (same ? ' (same)' : ' (differ)'),
      byKind,
      leakingTests: on[0].report?.totals.testsLeaking ?? '-',
      failRun: fail ? `${fail.counts.failed ?? 0} failed` : '',
      wall: `${off.wall.toFixed(1)}s / ${on.map((r) => r.wall.toFixed(1) + 's').join(', ')}`,
    })
  } finally {
    fs.rmSync(path.join(dir, WRAPPER), { force: true })
    try {
      fs.rmdirSync(path.join(dir, '.leakguard')) // only when empty
    } catch {}
  }
}

const cols = ['project', 'commit', 'vitest', 'tests', 'findings', 'leakingTests', 'byKind', 'failRun', 'wall']
console.log(`| ${cols.join(' | ')} |`)
console.log(`|${cols.map(() => '---').join('|')}|`)
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`)
fs.writeFileSync(path.join(outDir, 'table.json'), JSON.stringify(rows, null, 2))
