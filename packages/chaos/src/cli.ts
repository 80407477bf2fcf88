#!/usr/bin/env node
/**
 * Owns the `pnpm chaos` command: runs seeds of the real-process harness (or,
 * with --in-process, of the simulation), prints one line per seed and one
 * summary line, and on a failure the seed, the problems and where the
 * operation log is. Exits 1 if any seed failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hostileActions, type HostileAction } from './hostileWriter.js'
import { runJepsen, type JepsenResult, type Sabotage } from './jepsen.js'
import type { Features } from './schedule.js'
import { runSimulation } from './simulation.js'

const usage = `Usage: pnpm chaos [options]

  --seeds <n>      how many seeds to run                         [default 3]
  --seed <n>       the first seed                                 [default 1]
  --replicas <n>   replica processes per run                      [default 5]
  --ops <n>        writes per run                                  [default 2000]
  --interval <ms>  pause after each write                         [default 5]
  --in-process     run the in-process simulation instead (--ops is its steps, default 400);
                   --storage fails 10% of its appends (kept in memory, sent, retried) and
                   --lifecycles closes and reopens documents
  --settle <ms>    how long the healed system may take to converge [default 90000]
  --hostile        the seed decides whether a hostile writer joins (4 seeds in 5): clock
                   squatting, contradicting updates, zero-length items, garbage, auth floods
  --hostile-actions <a,b>  only these hostile actions (${hostileActions.join(', ')})
  --lifecycles     app lifecycles on the native replicas (close and reopen at once, close then
                   destroy, destroy and recreate), 3 documents per client on one socket, and
                   replica 0 as two tabs sharing one store, one of which is killed now and then
  --mixed <n>      n stock y-websocket WebsocketProvider replicas beside the native ones
  --cluster <n>    n relays (2 or 3) on one PostgreSQL and one redis-server, with their faults
  --storage        storage faults: the replicas' device stores fail appends (quota, abort),
                   compactions and loads, or write slowly; the relay (one relay only) runs
                   with a DocStore that fails or stalls appends, fails loads, or is full
  --readers        the last native replica holds a read-only token (the relay requires JWTs)
                   and writes anyway, as apps do: each of its writes must be refused and told
  --sabotage <what>  break the system on purpose to see the checks fail: relay-store
                   (delete the relay's store at every stop), replica-store (delete a
                   crashed replica's store before its restart), relay-acks-early (the
                   relay's store resolves an append 300 ms before it commits),
                   replica-drops-appends (a device store drops every 50th local append),
                   replica-syncs-early (replicas say whenSynced() resolved as soon as
                   they write), replica-hides-errors (replicas keep their client's error
                   events to themselves), or relay-leaks (one relay: its store keeps 128 MiB
                   for every load and append, up to 512 MiB);
                   in process: client-drops-failed-append (with --storage, a failed append
                   is neither sent nor retried)
  --keep           keep the stores of every run (those of failed runs are always kept)
  --help`

const print = (line: string): void => {
  process.stdout.write(`${line}\n`)
}

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    replicas: { type: 'string' },
    ops: { type: 'string' },
    interval: { type: 'string', default: '5' },
    'in-process': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    sabotage: { type: 'string' },
    settle: { type: 'string', default: '90000' },
    hostile: { type: 'boolean', default: false },
    'hostile-actions': { type: 'string' },
    lifecycles: { type: 'boolean', default: false },
    mixed: { type: 'string' },
    cluster: { type: 'string' },
    storage: { type: 'boolean', default: false },
    readers: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  print(usage)
  process.exit(0)
}

const positive = (name: string, value: string): number => {
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < 1) {
    console.error(`--${name} must be a positive integer, not ${value}\n\n${usage}`)
    process.exit(2)
  }
  return number
}
const sabotages: readonly (Sabotage | 'client-drops-failed-append')[] = [
  'relay-store',
  'replica-store',
  'relay-acks-early',
  'replica-drops-appends',
  'replica-syncs-early',
  'replica-hides-errors',
  'relay-leaks',
  'client-drops-failed-append',
]
const sabotage = values.sabotage as Sabotage | 'client-drops-failed-append' | undefined
if (sabotage !== undefined && !sabotages.includes(sabotage)) {
  console.error(`--sabotage must be one of ${sabotages.join(', ')}, not ${sabotage}\n\n${usage}`)
  process.exit(2)
}
const chosenActions = values['hostile-actions']?.split(',') as HostileAction[] | undefined
if (chosenActions?.some((action) => !hostileActions.includes(action))) {
  console.error(`--hostile-actions takes some of ${hostileActions.join(', ')}\n\n${usage}`)
  process.exit(2)
}
const relays = values.cluster === undefined ? 1 : positive('cluster', values.cluster)
if (relays > 3) {
  console.error(`--cluster takes 2 or 3 relays\n\n${usage}`)
  process.exit(2)
}
const features: Features = {
  hostile: values.hostile || chosenActions !== undefined,
  ...(chosenActions && { hostileActions: chosenActions }),
  lifecycles: values.lifecycles,
  stock: values.mixed === undefined ? 0 : positive('mixed', values.mixed),
  relays,
  storage: values.storage,
  readers: values.readers,
}
/** The flags that change the schedule, to repeat in a reproduce line. */
const featureFlags = [
  features.hostile && !chosenActions ? ' --hostile' : '',
  chosenActions ? ` --hostile-actions ${chosenActions.join(',')}` : '',
  features.lifecycles ? ' --lifecycles' : '',
  values.mixed ? ` --mixed ${values.mixed}` : '',
  values.cluster ? ` --cluster ${values.cluster}` : '',
  values.storage ? ' --storage' : '',
  values.readers ? ' --readers' : '',
  sabotage ? ` --sabotage ${sabotage}` : '',
].join('')
const seeds = positive('seeds', values.seeds)
const firstSeed = positive('seed', values.seed)

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN

const runInProcess = (): boolean => {
  const replicas = positive('replicas', values.replicas ?? '4')
  const steps = positive('ops', values.ops ?? '400')
  const totals = {
    writes: 0,
    partitions: 0,
    crashes: 0,
    dropped: 0,
    duplicated: 0,
    failedAppends: 0,
    reopens: 0,
    failed: 0,
  }
  const converge: number[] = []
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const result = runSimulation({
      seed,
      replicas,
      steps,
      storeFaults: values.storage,
      lifecycles: values.lifecycles,
      dropFailedAppends: sabotage === 'client-drops-failed-append',
    })
    totals.writes += result.writes
    totals.partitions += result.faults.partitions
    totals.crashes += result.faults.crashes
    totals.dropped += result.faults.dropped
    totals.duplicated += result.faults.duplicated
    totals.failedAppends += result.faults.failedAppends
    totals.reopens += result.faults.reopens
    if (result.convergeDeliveries !== undefined) converge.push(result.convergeDeliveries)
    if (result.problems.length === 0) continue
    totals.failed++
    console.error(`seed ${seed} FAILED: ${result.problems.join('; ')}\nlog:\n${result.log.join('\n')}`)
  }
  print(
    `chaos (in process): ${seeds} seeds, ${replicas} replicas, ${totals.writes} writes, ${totals.partitions} partitions, ` +
      `${totals.crashes} crashes, ${totals.dropped} dropped, ${totals.duplicated} duplicated messages, ` +
      `${totals.failedAppends} failed appends, ${totals.reopens} reopens; ` +
      `converged after p50 ${percentile(
        converge.sort((a, b) => a - b),
        50,
      )}, p99 ${percentile(converge, 99)} deliveries; ` +
      `failed ${totals.failed}`,
  )
  return totals.failed === 0
}

const runProcesses = async (): Promise<boolean> => {
  const replicas = positive('replicas', values.replicas ?? '5')
  const ops = positive('ops', values.ops ?? '2000')
  const results: JepsenResult[] = []
  const startedAt = Date.now()
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const workDir = await mkdtemp(join(tmpdir(), `concord-chaos-${seed}-`))
    let result: JepsenResult
    try {
      result = await runJepsen({
        seed,
        replicas,
        ops,
        workDir,
        writeIntervalMs: Number(values.interval),
        settleTimeoutMs: positive('settle', values.settle),
        sabotage: sabotage === 'client-drops-failed-append' ? undefined : sabotage,
        features,
      })
    } catch (error) {
      // The harness itself broke (a process that would not start, a replica that stopped answering).
      console.error(
        `seed ${seed} ABORTED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n` +
          `  reproduce: pnpm chaos --seeds 1 --seed ${seed} --replicas ${replicas} --ops ${ops}${featureFlags}\n` +
          `  stores: ${workDir}`,
      )
      return false
    }
    results.push(result)
    const { set, faults } = result
    const failed = result.problems.length > 0
    print(
      `seed ${seed}: attempted ${set.attempted}, acknowledged ${set.acknowledged}, committed ${set.committed}, ` +
        `lost ${set.lost.length}, lost committed ${set.lostCommitted.length}, unexpected ${set.unexpected.length}, ` +
        `recovered ${set.recovered}; relay store checked at ${result.midRun.relayStoreChecks} stops ` +
        `(${result.midRun.lostAtRelayStop.size} missing, ${result.midRun.unreadableAtRelayStop.size} stored but unreadable), ${result.midRun.reloadChecks} reloads ` +
        `(${result.midRun.lostAtReload.size} missing); ${faults.partitions} cuts, ${faults.stalls} stalls, ${faults.delays} delays, ` +
        `${faults.replicaCrashes} replica crashes, ${faults.relayKills} relay SIGKILLs, ${faults.relayTerms} SIGTERMs, ` +
        `${faults.hostile} hostile actions, ${faults.lifecycles} lifecycles, ${faults.tabKills} tab kills, ${faults.moves} moves, ${faults.cluster} database faults, ${faults.storage} storage faults; ` +
        `whenSynced-but-unstored ${result.midRun.syncedButMissingAtStop.size} at stops, ${result.syncedButLost.length} at the end, vanished ${result.vanished.length}; ` +
        (result.midRun.authFloods > 0
          ? `${result.midRun.authFloods} auth floods cost the relay ${result.midRun.authFloodCpuMsPerFrame.toFixed(2)} ms of CPU per frame at most, /healthz meanwhile within ${result.midRun.authFloodStallMs} ms; `
          : '') +
        `errors told ${JSON.stringify(result.errorCounts)}; ` +
        `converged in ${result.convergeMs ?? 'never'} ms${failed ? ' FAILED' : ''}`,
    )
    if (failed) {
      const logPath = join(workDir, 'operations.log')
      await writeFile(logPath, `${result.log.join('\n')}\n`)
      console.error(
        `seed ${seed} FAILED: ${result.problems.join('; ')}\n` +
          `  reproduce: pnpm chaos --seeds 1 --seed ${seed} --replicas ${replicas} --ops ${ops}${featureFlags}\n` +
          `  operation log and stores: ${logPath}\n` +
          result.log.filter((line) => !line.startsWith('  plan: ')).join('\n'),
      )
    } else if (!values.keep) {
      await rm(workDir, { recursive: true, force: true })
    }
  }
  const sum = (pick: (result: JepsenResult) => number) => results.reduce((total, result) => total + pick(result), 0)
  const converge = results
    .flatMap(({ convergeMs }) => (convergeMs === undefined ? [] : [convergeMs]))
    .sort((a, b) => a - b)
  const failed = results.filter((result) => result.problems.length > 0).length
  print(
    `chaos: ${seeds} seeds, ${replicas} replicas, ${sum((r) => r.set.attempted)} ops ` +
      `(${sum((r) => r.set.acknowledged)} acknowledged, ${sum((r) => r.set.recovered)} recovered), ` +
      `${sum((r) => r.faults.partitions + r.faults.stalls)} partitions, ${sum((r) => r.faults.relayKills + r.faults.relayTerms)} relay kills ` +
      `(${sum((r) => r.faults.relayKills)} SIGKILL), ${sum((r) => r.faults.replicaCrashes)} replica crashes, ` +
      `lost ${sum((r) => r.set.lost.length + r.set.lostCommitted.length + r.midRun.lostAtRelayStop.size + r.midRun.lostAtReload.size)}, unexpected ${sum((r) => r.set.unexpected.length)}, ` +
      `whenSynced but unstored ${sum((r) => r.midRun.syncedButMissingAtStop.size + r.syncedButLost.length)}, vanished ${sum((r) => r.vanished.length)}, ` +
      `acknowledged but unreadable at a relay stop ${sum((r) => r.midRun.unreadableAtRelayStop.size)}, ` +
      `divergent ${sum((r) => (r.divergent.length > 0 ? 1 : 0))}, still pending ${sum((r) => r.stillPending.length)}; ` +
      `converged p50 ${percentile(converge, 50)} ms, p99 ${percentile(converge, 99)} ms; ` +
      `${Math.round((Date.now() - startedAt) / 1000)} s${failed > 0 ? `; ${failed} FAILED` : ''}`,
  )
  return failed === 0
}

// Exit through process.exit on ^C or a kill, so the relay child is killed with the harness.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

const passed = values['in-process'] ? runInProcess() : await runProcesses()
process.exit(passed ? 0 : 1)
