/**
 * Scenario 3, a large document: one writer replays the editing trace into one
 * document (one sync update per transaction, as an editor sends them), then
 * a fresh client syncs it. Also used alone (`firstSync`) after a relay
 * restart. y-websocket frames, so the same bytes go to every server.
 */
import * as Y from 'yjs'
import { decodeYWebsocketMessage } from '@concord/protocol'
import { coresUsed, sampleProcess } from '../processSample.js'
import { collectGarbage } from './collectGarbage.js'
import { replayTrace } from '../trace.js'
import { emptySyncStep1, openDocSocket, syncTypeOf, updateFrame, type Dialect, type DocSocket } from '../wire.js'

export interface LargeDocTask {
  readonly url: string
  readonly dialect: Dialect
  readonly serverPid: number
  /** The server's inspector, to collect its garbage before its RSS is read. */
  readonly inspectorUrl: string
  readonly doc: string
  readonly traceFile: string
  readonly txns: number
}

export interface FirstSync {
  /** From opening the socket to the sync step 2 that answers the client's step 1. */
  readonly syncedMs: number
  /** Every payload byte received until then. */
  readonly bytesReceived: number
  /** The length of the text the client then has (checked against the trace). */
  readonly textLength: number
}

export interface LargeDocResult {
  readonly updates: number
  readonly updateBytes: number
  /** From the first update sent to the server's answer to a step 1 sent after the last. */
  readonly replayMs: number
  readonly replayServerCores: number
  /** After the replay and a full garbage collection. */
  readonly serverRssBytes: number
  /** The median of five fresh clients, one after the other. */
  readonly firstSync: FirstSync
  readonly syncRunsMs: number[]
  readonly expectedTextLength: number
}

/** Waits on `socket` for the sync step 2 that answers a step 1; returns it and the bytes received until then. */
export const untilStep2 = (socket: DocSocket): Promise<{ frame: Uint8Array; bytes: number }> =>
  new Promise((resolve, reject) => {
    let bytes = 0
    // Closed already (during a replay): its close event is gone, and nothing else would end the wait.
    if (socket.socket.readyState !== socket.socket.OPEN) {
      reject(new Error(`the server closed the socket before its sync step 2 (ready state ${socket.socket.readyState})`))
      return
    }
    // A server that closes the socket first (e.g. Concord's 4503 when its store fails) ends the scenario with why.
    socket.socket.once('close', (code: number, reason: Buffer) =>
      reject(new Error(`the server closed the socket before its sync step 2: ${code} ${reason.toString()}`)),
    )
    socket.onFrame((data) => {
      bytes += data.length
      if (syncTypeOf(data) === 1) resolve({ frame: data, bytes })
    })
  })

export const firstSync = async (url: string, doc: string, dialect: Dialect): Promise<FirstSync> => {
  const startedAt = performance.now()
  const socket = await openDocSocket(url, doc, dialect)
  const step2 = untilStep2(socket)
  socket.send(emptySyncStep1)
  const { frame, bytes } = await step2
  const syncedMs = performance.now() - startedAt
  socket.terminate()
  const message = decodeYWebsocketMessage(frame)
  const ydoc = new Y.Doc()
  if (message.type === 'sync' && message.sync.type === 'step2') Y.applyUpdate(ydoc, message.sync.update)
  return { syncedMs, bytesReceived: bytes, textLength: ydoc.getText('t').length }
}

export const runLargeDoc = async (task: LargeDocTask): Promise<LargeDocResult> => {
  const { updates, text } = replayTrace(task.traceFile, task.txns)
  const writer = await openDocSocket(task.url, task.doc, task.dialect)
  // Synced first, as a provider is: Concord refuses (4429) a socket that sends thousands of frames
  // while the document is still loading, and loading takes long on a busy machine.
  const synced = untilStep2(writer)
  writer.send(emptySyncStep1)
  await synced
  const before = sampleProcess(task.serverPid)
  const startedAt = performance.now()
  let updateBytes = 0
  for (const update of updates) {
    updateBytes += update.length
    writer.send(updateFrame(update))
    if (writer.socket.bufferedAmount > 1024 * 1024) {
      while (writer.socket.bufferedAmount > 64 * 1024) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  // A server handles one socket's frames in order: its answer to this step 1 comes after every update.
  const caughtUp = untilStep2(writer)
  writer.send(emptySyncStep1)
  await caughtUp
  const replayMs = performance.now() - startedAt
  const after = sampleProcess(task.serverPid)
  await collectGarbage(task.inspectorUrl)
  const serverRssBytes = sampleProcess(task.serverPid).rssBytes
  const syncs: FirstSync[] = []
  for (let i = 0; i < 5; i++) syncs.push(await firstSync(task.url, task.doc, task.dialect))
  // Open until now: Hocuspocus, without a store, drops a document when its last connection leaves.
  writer.terminate()
  return {
    updates: updates.length,
    updateBytes,
    replayMs,
    replayServerCores: coresUsed(before, after),
    serverRssBytes,
    firstSync: [...syncs].sort((a, b) => a.syncedMs - b.syncedMs)[2]!,
    syncRunsMs: syncs.map((sync) => sync.syncedMs),
    expectedTextLength: text.length,
  }
}
