/**
 * Scenario 2, idle connections: first one connection to each of D documents,
 * then the rest spread over the same documents, each sending a sync step 1
 * as a provider does and then nothing. The server's RSS after each step
 * gives the cost of a document (with its first connection) and of each
 * further connection.
 */
import { sampleProcess } from '../processSample.js'
import { emptySyncStep1, openDocSocket, sleep, type Dialect, type DocSocket } from '../wire.js'
import { collectGarbage } from './collectGarbage.js'

export interface ConnectionsTask {
  readonly url: string
  readonly dialect: Dialect
  readonly serverPid: number
  /** The server's inspector, to collect its garbage before each reading. */
  readonly inspectorUrl: string
  readonly connections: number
  readonly docs: number
  /** Handshakes in flight at once. */
  readonly concurrency: number
  /** How long to let the server settle before reading its RSS. */
  readonly settleMs: number
}

export interface ConnectionsResult {
  readonly idleRssBytes: number
  /** With one connection in each document. */
  readonly docsRssBytes: number
  /** With every connection open. */
  readonly allRssBytes: number
  readonly perConnectionBytes: number
  readonly perDocumentBytes: number
  readonly connectMs: number
}

export const runConnections = async (task: ConnectionsTask): Promise<ConnectionsResult> => {
  const sockets: DocSocket[] = []
  const open = async (from: number, to: number): Promise<void> => {
    for (let start = from; start < to; start += task.concurrency) {
      const batch = []
      for (let i = start; i < Math.min(to, start + task.concurrency); i++) {
        batch.push(
          openDocSocket(task.url, `bench-idle-${i % task.docs}`, task.dialect).then((socket) => {
            socket.onFrame(() => {})
            socket.send(emptySyncStep1)
            sockets.push(socket)
          }),
        )
      }
      await Promise.all(batch)
    }
  }
  const settledRss = async (): Promise<number> => {
    await sleep(task.settleMs)
    await collectGarbage(task.inspectorUrl)
    return sampleProcess(task.serverPid).rssBytes
  }

  const idleRssBytes = await settledRss()
  const startedAt = performance.now()
  await open(0, task.docs)
  const docsRssBytes = await settledRss()
  await open(task.docs, task.connections)
  const connectMs = performance.now() - startedAt - task.settleMs
  const allRssBytes = await settledRss()
  for (const socket of sockets) socket.terminate()

  const perConnectionBytes = (allRssBytes - docsRssBytes) / (task.connections - task.docs)
  return {
    idleRssBytes,
    docsRssBytes,
    allRssBytes,
    perConnectionBytes,
    perDocumentBytes: (docsRssBytes - idleRssBytes) / task.docs - perConnectionBytes,
    connectMs,
  }
}
