/**
 * Owns one replica as its own Node process, for the harness to crash:
 * @concord/client with a SQLite store on disk, connected to the relay
 * through the replica's link proxy. It applies the writes it is sent, and
 * tells the harness which element each store row holds once it is committed,
 * and which rows the client marked acknowledged by the relay.
 *
 * Usage (by the harness, through `fork`): replicaProcess.js <store path> <relay url> <document>
 */
import { createClient, type LocalStore, type WebSocketConstructor } from '@concord/client'
import { WebSocket } from 'ws'
import type { FromReplica, ToReplica } from './replicaMessages.js'
import { SqliteLocalStore } from './sqliteLocalStore.js'
import { applyWrite, contentOf, elementsOf, stateVectorOf } from './workload.js'

const [storePath, url, document] = process.argv.slice(2)
if (!storePath || !url || !document || !process.send) {
  console.error('usage: replicaProcess.js <store path> <relay url> <document>, forked with an IPC channel')
  process.exit(2)
}

const tell = (message: FromReplica): void => {
  process.send?.(message)
}

/** The elements of local writes not yet appended, in the order the client will append them. */
const unstoredElements: string[] = []
const sqlite = new SqliteLocalStore(storePath, { synchronous: 'normal' })

// The client appends local updates in the order they were made, one per transaction, and each write is one.
const store: LocalStore = {
  load: (doc) => sqlite.load(doc),
  append: async (doc, update, pending) => {
    const id = await sqlite.append(doc, update, pending)
    const element = pending ? unstoredElements.shift() : undefined
    if (element !== undefined) tell({ type: 'committed', element, id })
    return id
  },
  acknowledge: async (doc, ids) => {
    await sqlite.acknowledge(doc, ids)
    tell({ type: 'acknowledged', ids })
  },
  compact: (doc, merge) => sqlite.compact(doc, merge),
  mergePending: async (doc, ids, merge) => {
    const merged = await sqlite.mergePending(doc, ids, merge)
    if (merged) tell({ type: 'merged', ids, into: Math.max(...ids) })
    return merged
  },
  remove: (doc) => sqlite.remove(doc),
  close: () => sqlite.close(),
}

const client = createClient({
  url,
  store,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
  shareAcrossTabs: false,
  // Short heartbeats and backoff, so a stalled link is noticed and a healed one used within seconds.
  connection: {
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 2_000,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
  },
})
client.on('error', (error) => console.error(`replica: ${error.code}: ${error.message}`))
const handle = client.open(document)
await handle.whenLoaded()

process.on('message', (message: ToReplica) => {
  switch (message.type) {
    case 'write':
      unstoredElements.push(message.write.element)
      applyWrite(handle.doc, message.write)
      return
    case 'report':
      tell({
        type: 'report',
        stateVector: stateVectorOf(handle.doc),
        content: message.content ? contentOf(handle.doc) : '',
        elements: message.content ? elementsOf(handle.doc).toArray() : [],
        pending: handle.pending,
        status: handle.status,
      })
      return
    case 'stop':
      void client.destroy().then(() => process.exit(0))
      return
  }
})
// The harness went away: do not outlive it.
process.on('disconnect', () => process.exit(0))
tell({ type: 'ready' })
