/**
 * The stock y-websocket server under test: @y/websocket-server 0.1.1 (the
 * last release on Yjs 13) wired exactly as its own bin script wires it, in
 * memory (no persistence), on a free loopback port. With a file in
 * BENCH_SNAPSHOT, a persistence's bindState applies that Yjs update to every
 * document it opens (the join storm's "must load" case; its own persistence
 * is y-leveldb). Prints its address.
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import * as Y from 'yjs'
import { setPersistence, setupWSConnection } from '@y/websocket-server/utils'

const snapshotFile = process.env.BENCH_SNAPSHOT
if (snapshotFile) {
  setPersistence({
    provider: null,
    bindState: (_name: string, doc: Y.Doc) => Y.applyUpdate(doc, readFileSync(snapshotFile)),
    writeState: async () => {},
  })
}
const server = createServer((_request, response) => response.writeHead(404).end())
const wss = new WebSocketServer({ noServer: true })
wss.on('connection', (socket, request) => setupWSConnection(socket, request))
server.on('upgrade', (request, socket, head) =>
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ws://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
