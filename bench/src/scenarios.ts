/**
 * Owns running each scenario from the runner's side: the servers under test
 * start one after the other (each alone on the machine while it is measured),
 * the load generator runs in a process of its own against each, and the
 * results come back as plain data for the report.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SqliteDocStore } from '@concord/relay/sqlite'
import * as Y from 'yjs'
import { runColdLoad, type ColdLoadResult } from './coldLoad/coldLoad.js'
import type { AckLatencyResult } from './load/ackLatency.js'
import type { ConnectionsResult } from './load/connections.js'
import type { FanoutResult } from './load/fanout.js'
import type { FirstSync, LargeDocResult } from './load/largeDoc.js'
import type { LoadTask } from './loadgen.js'
import type { Profile } from './profiles.js'
import { ServerProcess, serverKinds, type ServerKind } from './serverProcess.js'
import { defaultTrace, replayTrace } from './trace.js'

const loadgenScript = fileURLToPath(new URL('./loadgen.js', import.meta.url))

export interface RunOptions {
  /** Start the Concord relay with --cpu-prof, writing .cpuprofile files here. */
  readonly cpuProfileDir?: string | undefined
  readonly log: (line: string) => void
  /** The servers to run (all by default), e.g. only Concord while profiling it. */
  readonly servers?: readonly ServerKind[] | undefined
}

/** Runs the load generator in its own process and returns what it printed. */
const runLoad = <T>(task: LoadTask): Promise<T> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [loadgenScript, JSON.stringify(task)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as T)
      else reject(new Error(`the load generator (${task.scenario}) exited with ${code}`))
    })
  })

/** Starts `kind` with a fresh data folder, runs `work` against it, and stops it. */
const withServer = async <T>(
  kind: ServerKind,
  options: RunOptions,
  work: (server: ServerProcess) => Promise<T>,
  dataDir?: string,
  inspect = false,
): Promise<T> => {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'concord-bench-')))
  const nodeArgs =
    kind.startsWith('concord') && options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : []
  const server = await ServerProcess.start(kind, { dataDir: dir, nodeArgs, inspect })
  try {
    return await work(server)
  } finally {
    await server.stop()
    if (!dataDir) await rm(dir, { recursive: true, force: true })
  }
}

export type PerServer<T> = Partial<Record<ServerKind, T>>

export const runFanoutScenario = async (profile: Profile, options: RunOptions): Promise<PerServer<FanoutResult>> => {
  const results: PerServer<FanoutResult> = {}
  for (const kind of options.servers ?? serverKinds) {
    options.log(`fan-out: ${kind}`)
    results[kind] = await withServer(kind, options, (server) =>
      runLoad<FanoutResult>({ scenario: 'fanout', url: server.url, serverPid: server.pid, ...profile.fanout }),
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
    results[kind] = await withServer(
      kind,
      options,
      (server) =>
        runLoad<ConnectionsResult>({
          scenario: 'connections',
          url: server.url,
          serverPid: server.pid,
          inspectorUrl: server.inspectorUrl!,
          concurrency: 100,
          ...profile.connections,
        }),
      undefined,
      true,
    )
  }
  return results
}

export interface RestartResult {
  readonly storedRows: number
  readonly startMs: number
  readonly firstSync: FirstSync
}

export interface LargeDocScenarioResult {
  readonly txns: number
  readonly textLength: number
  readonly servers: PerServer<LargeDocResult>
  /** When Concord is among the servers. */
  readonly restart: { readonly uncompacted: RestartResult; readonly compacted: RestartResult } | undefined
}

/** What the relay's compaction writes for a long log: the state of a Y.Doc that applied all of it. */
const mergeThroughDoc = (updates: Uint8Array[]): Uint8Array => {
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
      async (server) => ({
        storedRows: compacted ? 1 : updates.length,
        startMs: server.startMs,
        firstSync: await runLoad<FirstSync>({ scenario: 'firstSync', url: server.url, doc: 'bench-large' }),
      }),
      dir,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export const runLargeDocScenario = async (profile: Profile, options: RunOptions): Promise<LargeDocScenarioResult> => {
  const servers: PerServer<LargeDocResult> = {}
  // The bare server keeps nothing, so a fresh client could not sync from it: it has no part here.
  for (const kind of (options.servers ?? serverKinds).filter((k) => k !== 'bare-ws')) {
    options.log(`large document: ${kind}`)
    servers[kind] = await withServer(
      kind,
      options,
      (server) =>
        runLoad<LargeDocResult>({
          scenario: 'largeDoc',
          url: server.url,
          serverPid: server.pid,
          inspectorUrl: server.inspectorUrl!,
          doc: 'bench-large',
          traceFile: defaultTrace,
          txns: profile.largeDoc.txns,
        }),
      undefined,
      true,
    )
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
    results[kind] = await withServer(kind, options, (server) =>
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
