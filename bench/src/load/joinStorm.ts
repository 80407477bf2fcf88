/**
 * The join storm: N fresh clients open one large document (the
 * automerge-paper trace's final state) at the same moment, each sending a
 * sync step 1 with an empty state vector, and each is timed from that moment
 * to the step 2 that answers it. Either a writer has put the document in the
 * server first (loaded) or the server must load it from its store as the
 * clients arrive. The server's RSS is sampled every few ms meanwhile.
 */
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
import { decodeYWebsocketMessage } from '@concord/protocol'
import { summarize, type LatencySummary } from '../percentiles.js'
import { sampleProcess } from '../processSample.js'
import { emptySyncStep1, openDocSocket, sleep, updateFrame, type Dialect, type DocSocket } from '../wire.js'
import { untilStep2 } from './largeDoc.js'

export interface JoinStormTask {
  readonly url: string
  readonly dialect: Dialect
  readonly serverPid: number
  readonly doc: string
  readonly clients: number
  /** A file holding the document as one Yjs update. */
  readonly snapshotFile: string
  /** Send the snapshot first through a writer that stays connected (the "loaded" case). */
  readonly preload: boolean
  readonly expectedTextLength: number
}

export interface JoinStormResult {
  readonly clients: number
  readonly syncedMs: LatencySummary
  /** Sampled every 5 ms from the storm's start to its last client synced. */
  readonly peakRssBytes: number
  readonly rssBeforeBytes: number
  readonly serverCpuMs: number
  readonly bytesPerClient: number
}

const stormTimeoutMs = 120_000

export const runJoinStorm = async (task: JoinStormTask): Promise<JoinStormResult> => {
  const snapshot = readFileSync(task.snapshotFile)
  let writer: DocSocket | undefined
  if (task.preload) {
    writer = await openDocSocket(task.url, task.doc, task.dialect)
    writer.send(updateFrame(snapshot))
    // A server handles one socket's frames in order: its answer to this step 1 comes after the snapshot.
    const caughtUp = untilStep2(writer)
    writer.send(emptySyncStep1)
    await caughtUp
    await sleep(500)
  }
  const before = sampleProcess(task.serverPid)
  let peakRssBytes = before.rssBytes
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, sampleProcess(task.serverPid).rssBytes)
  }, 5)
  const startedAt = performance.now()
  const sockets: DocSocket[] = []
  const joins = Array.from({ length: task.clients }, async () => {
    const socket = await openDocSocket(task.url, task.doc, task.dialect)
    sockets.push(socket)
    const step2 = untilStep2(socket)
    socket.send(emptySyncStep1)
    const { frame, bytes } = await step2
    return { ms: performance.now() - startedAt, frame, bytes }
  })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the join storm did not end in ${stormTimeoutMs} ms`)), stormTimeoutMs)
  })
  const synced = await Promise.race([Promise.all(joins), timeout])
  clearTimeout(timer)
  clearInterval(sampler)
  const after = sampleProcess(task.serverPid)
  peakRssBytes = Math.max(peakRssBytes, after.rssBytes)
  for (const socket of sockets) socket.terminate()
  writer?.terminate()

  // One client's document is checked against the trace (decoding all of them would slow the next run's start).
  const message = decodeYWebsocketMessage(synced[synced.length - 1]!.frame)
  const doc = new Y.Doc()
  if (message.type === 'sync' && message.sync.type === 'step2') Y.applyUpdate(doc, message.sync.update)
  const textLength = doc.getText('t').length
  if (textLength !== task.expectedTextLength) {
    throw new Error(`a client of the join storm got ${textLength} characters, not ${task.expectedTextLength}`)
  }
  return {
    clients: task.clients,
    syncedMs: summarize(synced.map((join) => join.ms)),
    peakRssBytes,
    rssBeforeBytes: before.rssBytes,
    serverCpuMs: after.cpuMs - before.cpuMs,
    bytesPerClient: synced.reduce((sum, join) => sum + join.bytes, 0) / synced.length,
  }
}
