// The reference server as a cluster (`WORKERS=N`, N > 1): this primary forks N workers, each running the ordinary
// reference server on the same ports, announces once all of them listen, and on SIGTERM or SIGINT disconnects them all.

// It imports the lifecycle's modules one by one, not its index: serving nothing itself, it need not load node:http.
import { createClusterPrimary, type ClusterWorkerInfo } from '../lifecycle/cluster.js'
import { EXIT_FAILURE } from '../lifecycle/errors.js'
import { createLifecycle } from '../lifecycle/process.js'
import type { ReferenceConfig } from './config.js'
import { closeWhenParentGoes, outputsOf, type ReadyAnnouncement, type ReferenceServerOptions } from './outputs.js'

/** Each worker listens three times, in this order (the server group starts its members one by one). */
const LISTENERS = ['api', 'admin', 'metrics'] as const

/**
 * Runs the cluster primary until its workers are gone. On a start-up failure (a crash loop) it sets
 * `process.exitCode` to 1 and resolves once the workers left are stopped.
 *
 * @example
 * if (cluster.isPrimary && config.workers > 1) await runReferencePrimary(config)
 */
export async function runReferencePrimary(config: ReferenceConfig, options: ReferenceServerOptions = {}): Promise<void> {
  const { log, logger, announce } = outputsOf(options)
  const lifecycle = createLifecycle({ logger })
  // Above the workers' deadline (CLUSTER_TIMEOUT_MS) and the time to reap the ones SIGKILLed then.
  lifecycle.handleSignals({ timeout: config.clusterTimeoutMs + 3_000 })
  closeWhenParentGoes(lifecycle, log)

  // A respawned worker listens with the same PORT (0 included) as the others: Node's cluster module hands it the
  // primary's existing listener, so it joins the same ports. (Had every worker died, port 0 would pick new ones.)
  const primary = createClusterPrimary({
    workers: config.workers,
    listeners: LISTENERS.length,
    timeout: config.clusterTimeoutMs,
    lifecycle,
    logger,
    env: (slot) => ({ CLUSTER_IGNORE_DISCONNECT: config.clusterIgnoreDisconnect && slot === 0 ? '1' : '0' }),
  })

  let workers: readonly ClusterWorkerInfo[]
  try {
    workers = await primary.start()
  } catch (error) {
    // A signal during start-up, or a crash loop: the lifecycle is closing already and stops the workers left.
    if (lifecycle.isOpen()) {
      log(`cannot start: ${error instanceof Error ? error.message : String(error)}`)
      process.exitCode = EXIT_FAILURE
      await lifecycle.close(error)
    }
    return
  }
  const portsOf = (worker: ClusterWorkerInfo) => worker.addresses.map((a) => a.port).join(',')
  const split = workers.find((worker) => portsOf(worker) !== portsOf(workers[0]!))
  if (split) {
    log(`cannot start: worker ${split.pid} listens on ${portsOf(split)}, worker ${workers[0]!.pid} on ${portsOf(workers[0]!)}`)
    process.exitCode = EXIT_FAILURE
    await lifecycle.close(new Error('The workers do not share their ports.'))
    return
  }
  const [api, admin, metrics] = workers[0]!.addresses.map((a) => a.port) as [number, number, number]
  const pids = workers.map((worker) => worker.pid)
  const ready: ReadyAnnouncement = { type: 'leakguard:ready', pid: process.pid, generation: 1, ports: { api, admin, metrics }, workerPid: 0, workers: pids }
  log(
    `ready: cluster of ${pids.length} workers (pids ${pids.join(', ')}) sharing api http://${config.host}:${api}, ` +
      `admin :${admin}, metrics :${metrics} (primary ${process.pid})`,
  )
  announce(ready)
}
