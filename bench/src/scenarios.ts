/**
 * Owns running each scenario from the runner's side: the servers under test
 * start one after the other (each alone on the machine while it is measured),
 * the load generator runs in a process of its own against each, and the
 * results come back as plain data for the report.
 */
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SqliteDocStore } from '@concord/relay/sqlite'
import * as Y from 'yjs'
import { runColdLoad, type ColdLoadResult } from './coldLoad/coldLoad.js'
import { runIdbLarge, type IdbLargeResult } from './coldLoad/idbLarge.js'
import { runRealCold, type RealColdResult } from './coldLoad/realCold.js'
import type { AckLatencyResult } from './load/ackLatency.js'
import type { ConnectionsResult } from './load/connections.js'
import type { FanoutResult } from './load/fanout.js'
import type { JoinStormResult } from './load/joinStorm.js'
import type { FirstSync, LargeDocResult } from './load/largeDoc.js'
import type { LoadTask } from './loadgen.js'
import { sampleProcess } from './processSample.js'
import type { Profile } from './profiles.js'
import { dialectOf, ServerProcess, serverKinds, type ServerKind } from './serverProcess.js'
import { readThreadMemory, writeHeapSnapshots, type MemoryReading } from './threadMemory.js'
import { defaultTrace, replayTrace, tracePatches, traceState } from './trace.js'

const loadgenScript = fileURLToPath(new URL('./loadgen.js', import.meta.url))
/** Far longer than any scenario takes on two busy cores (the large document's replay: about a minute). */
const loadTimeoutMs = 10 * 60_000

export interface RunOptions {
  /** Start the Concord relay with --cpu-prof, writing .cpuprofile files here. */
  readonly cpuProfileDir?: string | undefined
  readonly log: (line: string) => void
  /** The servers to run (all by default), e.g. only Concord while profiling it. */
  readonly servers?: readonly ServerKind[] | undefined
  /** Each server's memory as each scenario left it, appended to as they run. */
  readonly memory: MemoryEntry[]
  /** Write a heap snapshot of every thread of every server after each scenario, into this folder. */
  readonly heapSnapshotDir?: string | undefined
  /** The root of another built checkout, run as `concord-baseline` (see serverProcess.ts). */
  readonly baselineRoot?: string | undefined
}

export interface MemoryEntry extends MemoryReading {
  readonly scenario: string
  readonly kind: ServerKind
  /** The heap snapshots written, with --heap-snapshot. */
  readonly heapSnapshots?: string[]
}

export interface WithServerOptions {
  /** The scenario's name in the memory table. */
  readonly scenario: string
  /** A data folder to start the relay on (kept); a fresh one otherwise (removed). */
  readonly dataDir?: string
  readonly snapshotFile?: string
  readonly relayArgs?: readonly string[]
}

/** Runs the load generator in its own process and returns what it printed. */
export const runLoad = <T>(task: LoadTask): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [loadgenScript, JSON.stringify(task)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk)
      stderr = (stderr + chunk.toString()).slice(-2000)
    })
    // Every scenario is bounded: a load generator still running after this is stopped, and the scenario fails.
    const timer = setTimeout(() => child.kill('SIGKILL'), loadTimeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(JSON.parse(stdout) as T)
      else {
        // The error's message (the first line of what it printed that starts with "Error").
        const why = /Error: (.*)/.exec(stderr)?.[1] ?? ''
        reject(new Error(`the load generator (${task.scenario}) exited with ${code}: ${why}`))
      }
    })
  })

/**
 * Starts `kind` (with its inspector open) with a fresh data folder, runs
 * `work` against it, reads its memory per thread, and stops it.
 */
export const withServer = async <T>(
  kind: ServerKind,
  options: RunOptions,
  at: WithServerOptions,
  work: (server: ServerProcess) => Promise<T>,
): Promise<T> => {
  const dir = at.dataDir ?? (await mkdtemp(join(tmpdir(), 'concord-bench-')))
  const nodeArgs =
    kind.startsWith('concord') && options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : []
  const server = await ServerProcess.start(kind, {
    dataDir: dir,
    nodeArgs,
    inspect: true,
    ...(at.snapshotFile ? { snapshotFile: at.snapshotFile } : {}),
    ...(at.relayArgs ? { relayArgs: at.relayArgs } : {}),
    ...(options.baselineRoot ? { baselineRoot: options.baselineRoot } : {}),
  })
  try {
    const result = await work(server)
    const reading = await readThreadMemory(server.pid, server.inspectorUrl!)
    const heapSnapshots =
      options.heapSnapshotDir &&
      (await writeHeapSnapshots(
        server.inspectorUrl!,
        join(options.heapSnapshotDir, `${at.scenario.replace(/\W+/g, '-')}-${kind}`),
      ))
    options.memory.push({ scenario: at.scenario, kind, ...reading, ...(heapSnapshots && { heapSnapshots }) })
    return result
  } finally {
    await server.stop()
    if (!at.dataDir) await rm(dir, { recursive: true, force: true })
  }
}

export type PerServer<T> = Partial<Record<ServerKind, T>>

export const runFanoutScenario = async (profile: Profile, options: RunOptions): Promise<PerServer<FanoutResult>> => {
  const results: PerServer<FanoutResult> = {}
  for (const kind of options.servers ?? serverKinds) {
    options.log(`fan-out: ${kind}`)
    results[kind] = await withServer(kind, options, { scenario: 'fan-out' }, (server) =>
      runLoad<FanoutResult>({
        scenario: 'fanout',
        url: server.url,
        dialect: dialectOf(kind),
        serverPid: server.pid,
        ...profile.fanout,
      }),
    )
  }
  return results
}

export const runConnectionsScenario = async (
  profile: Profile,
  options: RunOptions,
): Promise<PerServer<ConnectionsResult>> => {
  const results: PerServer<ConnectionsResult> = {}
  for (const kind of options.servers ?? serverKinds) {
    options.log(`connections: ${kind}`)
    results[kind] = await withServer(kind, options, { scenario: 'idle connections' }, (server) =>
      runLoad<ConnectionsResult>({
        scenario: 'connections',
        url: server.url,
        dialect: dialectOf(kind),
        serverPid: server.pid,
        inspectorUrl: server.inspectorUrl!,
        concurrency: 100,
        ...profile.connections,
      }),
    )
  }
  return results
}

export interface RestartResult {
  readonly storedRows: number
  readonly startMs: number
  readonly firstSync: FirstSync
  /** The relay's peak RSS (VmHWM) once the first client has synced: the load of the log included. */
  readonly peakRssBytes: number
}

export interface LargeDocScenarioResult {
  readonly txns: number
  readonly textLength: number
  readonly servers: PerServer<LargeDocResult>
  /** Why a server's run failed, for each that did (the others still ran). */
  readonly failed: PerServer<string>
  /** When Concord is among the servers. */
  readonly restart: { readonly uncompacted: RestartResult; readonly compacted: RestartResult } | undefined
}

/** What the relay's compaction writes for a long log: the state of a Y.Doc that applied all of it. */
export const mergeThroughDoc = (updates: Uint8Array[]): Uint8Array => {
  const doc = new Y.Doc()
  Y.transact(doc, () => updates.forEach((update) => Y.applyUpdate(doc, update)))
  return Y.encodeStateAsUpdate(doc)
}

/** A relay started on a store that holds `updates` of one document, as `rows` rows; then a fresh client syncs. */
const restartOn = async (
  updates: readonly Uint8Array[],
  compacted: boolean,
  options: RunOptions,
): Promise<RestartResult> => {
  const dir = await mkdtemp(join(tmpdir(), 'concord-bench-restart-'))
  try {
    const store = new SqliteDocStore(join(dir, 'concord.sqlite'))
    await Promise.all(updates.map((update) => store.append('bench-large', update)))
    if (compacted) await store.compact('bench-large', mergeThroughDoc)
    await store.close()
    return await withServer(
      'concord',
      options,
      { scenario: `restart, log ${compacted ? 'compacted' : 'uncompacted'}`, dataDir: dir },
      async (server) => {
        const firstSync = await runLoad<FirstSync>({
          scenario: 'firstSync',
          url: server.url,
          doc: 'bench-large',
          dialect: 'y-websocket',
        })
        const { peakRssBytes } = sampleProcess(server.pid)
        return { storedRows: compacted ? 1 : updates.length, startMs: server.startMs, firstSync, peakRssBytes }
      },
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export const runLargeDocScenario = async (profile: Profile, options: RunOptions): Promise<LargeDocScenarioResult> => {
  const servers: PerServer<LargeDocResult> = {}
  const failed: PerServer<string> = {}
  // The bare server keeps nothing, so a fresh client could not sync from it: it has no part here.
  for (const kind of (options.servers ?? serverKinds).filter((k) => !k.startsWith('bare-ws'))) {
    options.log(`large document: ${kind}`)
    try {
      servers[kind] = await withServer(kind, options, { scenario: 'large document' }, (server) =>
        runLoad<LargeDocResult>({
          scenario: 'largeDoc',
          url: server.url,
          dialect: dialectOf(kind),
          serverPid: server.pid,
          inspectorUrl: server.inspectorUrl!,
          doc: 'bench-large',
          traceFile: defaultTrace,
          txns: profile.largeDoc.txns,
        }),
      )
    } catch (error) {
      options.log(`large document: ${kind} failed: ${String(error)}`)
      failed[kind] = error instanceof Error ? error.message : String(error)
    }
  }
  const { updates, text } = replayTrace(defaultTrace, profile.largeDoc.txns)
  const restarted = async (): Promise<LargeDocScenarioResult['restart']> => {
    options.log('large document: relay restarts')
    return {
      uncompacted: await restartOn(updates, false, options),
      compacted: await restartOn(updates, true, options),
    }
  }
  return {
    txns: updates.length,
    textLength: text.length,
    servers,
    failed,
    restart: (options.servers ?? serverKinds).includes('concord') ? await restarted() : undefined,
  }
}

export const runAckLatencyScenario = async (
  profile: Profile,
  options: RunOptions,
): Promise<PerServer<AckLatencyResult>> => {
  const results: PerServer<AckLatencyResult> = {}
  // Only Concord acknowledges; the diagnostic variants of it may run too.
  for (const kind of (options.servers ?? serverKinds).filter((k) => k.startsWith('concord'))) {
    options.log(`durable ack latency: ${kind}`)
    results[kind] = await withServer(kind, options, { scenario: 'durable ack' }, (server) =>
      runLoad<AckLatencyResult>({
        scenario: 'ackLatency',
        url: server.url,
        serverPid: server.pid,
        ...profile.ackLatency,
      }),
    )
  }
  return results
}

export const runColdLoadScenario = async (profile: Profile, options: RunOptions): Promise<ColdLoadResult> => {
  options.log('client cold load: Chromium')
  const { updates, text } = replayTrace(defaultTrace, profile.coldLoad.updates)
  return runColdLoad({ updates, expectedTextLength: text.length, repeats: profile.coldLoad.repeats })
}

export const runRealColdScenario = async (profile: Profile, options: RunOptions): Promise<RealColdResult> => {
  const { txns: limit, repeats, ...pacing } = profile.realCold
  const txns = tracePatches(defaultTrace, limit)
  const { text } = traceState(defaultTrace, limit)
  options.log(`realcold: ${txns.length} transactions typed into each library in Chromium`)
  return runRealCold(
    { session: { txns, ...pacing }, expectedTextLength: text.length, repeats, cpuProfileDir: options.cpuProfileDir },
    options.log,
  )
}

export const runIdbLargeScenario = async (profile: Profile, options: RunOptions): Promise<IdbLargeResult> => {
  options.log('idblarge: the large document from IndexedDB against a bare apply, in Chromium')
  const { state, text } = traceState(defaultTrace, profile.idbLarge.txns)
  return runIdbLarge({
    snapshot: state,
    expectedTextLength: text.length,
    repeats: profile.idbLarge.repeats,
    cpuProfileDir: options.cpuProfileDir,
  })
}

export interface JoinStormScenarioResult {
  readonly clients: number
  readonly txns: number
  readonly snapshotBytes: number
  /** A writer put the document in the server before the storm. */
  readonly loaded: PerServer<JoinStormResult>
  /** The server loads it from its store (Concord: SQLite, one compacted row; the others: a file, through their load hook). */
  readonly mustLoad: PerServer<JoinStormResult>
}

/** The servers that keep documents: the bare ones have nothing to sync a fresh client from. */
const stormKinds: readonly ServerKind[] = ['concord', 'y-websocket', 'hocuspocus', 'concord-baseline']

export const runJoinStormScenario = async (profile: Profile, options: RunOptions): Promise<JoinStormScenarioResult> => {
  const { updates, text } = replayTrace(defaultTrace, profile.joinStorm.txns)
  const snapshot = mergeThroughDoc(updates)
  const dir = await mkdtemp(join(tmpdir(), 'concord-bench-storm-'))
  const snapshotFile = join(dir, 'snapshot.bin')
  await writeFile(snapshotFile, snapshot)
  const doc = 'bench-storm'
  const storm = (server: ServerProcess, preload: boolean): Promise<JoinStormResult> =>
    runLoad<JoinStormResult>({
      scenario: 'joinStorm',
      url: server.url,
      dialect: dialectOf(server.kind),
      serverPid: server.pid,
      doc,
      clients: profile.joinStorm.clients,
      snapshotFile,
      preload,
      expectedTextLength: text.length,
    })
  const loaded: PerServer<JoinStormResult> = {}
  const mustLoad: PerServer<JoinStormResult> = {}
  try {
    for (const kind of (options.servers ?? serverKinds).filter((k) => stormKinds.includes(k))) {
      options.log(`join storm, loaded: ${kind}`)
      loaded[kind] = await withServer(kind, options, { scenario: 'join storm, loaded' }, (server) =>
        storm(server, true),
      )
      options.log(`join storm, must load: ${kind}`)
      if (kind === 'concord' || kind === 'concord-baseline') {
        const dataDir = join(dir, `relay-${kind}`)
        await mkdir(dataDir)
        const store = new SqliteDocStore(join(dataDir, 'concord.sqlite'))
        await store.append(doc, snapshot)
        await store.close()
        mustLoad[kind] = await withServer(kind, options, { scenario: 'join storm, must load', dataDir }, (server) =>
          storm(server, false),
        )
      } else {
        mustLoad[kind] = await withServer(
          kind,
          options,
          { scenario: 'join storm, must load', snapshotFile },
          (server) => storm(server, false),
        )
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { clients: profile.joinStorm.clients, txns: updates.length, snapshotBytes: snapshot.length, loaded, mustLoad }
}
