/**
 * Owns one stock y-websocket replica as its own Node process (`--mixed`):
 * y-websocket's `WebsocketProvider`, one per document, in memory, beside the
 * native replicas. A stock provider gets no acks and has no store, so the
 * harness neither counts its writes as acknowledged nor crashes it; it
 * checks that every one of them converges, since the provider keeps them in
 * memory and sends them again on every reconnect.
 *
 * Usage (by the harness, through `fork`): stockReplicaProcess.js <ReplicaConfig as JSON>
 */
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { FromReplica, ReplicaConfig, ToReplica } from './replicaMessages.js'
import { reportDocument } from './replicaReport.js'
import { applyWrite } from './workload.js'

const config = JSON.parse(process.argv[2] ?? 'null') as ReplicaConfig | null
if (!config || !process.send) {
  console.error('usage: stockReplicaProcess.js <config as JSON>, forked with an IPC channel')
  process.exit(2)
}
const tell = (message: FromReplica): void => {
  process.send?.(message)
}

// y-websocket reads the global WebSocket's constants (its resync timer does); Node 20 has none.
globalThis.WebSocket ??= WebSocket as unknown as typeof globalThis.WebSocket

const providers = new Map<string, WebsocketProvider>()
for (const doc of config.documents) {
  const provider = new WebsocketProvider(config.url, doc, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    maxBackoffTime: 1_000,
    // A stock provider asks the server for its state now and then; it is the only way it notices a stalled link.
    resyncInterval: 2_000,
    ...(config.token !== undefined && { params: { token: config.token } }),
  })
  provider.on('connection-close', (event: CloseEvent | null) => {
    if (event && event.code !== 1005 && event.code !== 1006) {
      tell({ type: 'closedByRelay', code: event.code, reason: event.reason })
    }
  })
  providers.set(doc, provider)
}

process.on('message', (message: ToReplica) => {
  switch (message.type) {
    case 'write': {
      const provider = providers.get(message.doc)
      if (provider) applyWrite(provider.doc, message.write)
      return
    }
    case 'lifecycle':
    case 'storeFault':
    case 'killTab':
      return
    case 'report':
      tell({
        type: 'report',
        documents: Object.fromEntries(
          [...providers].map(([doc, provider]) => [
            doc,
            reportDocument(
              provider.doc,
              message.content,
              0,
              provider.synced && provider.wsconnected ? 'synced' : 'syncing',
            ),
          ]),
        ),
      })
      return
    case 'stop':
      for (const provider of providers.values()) provider.destroy()
      process.exit(0)
  }
})
process.on('disconnect', () => process.exit(0))
tell({ type: 'ready' })
