/**
 * The corked bare broadcast server: the bare server, except that each socket
 * is corked at its first send of an event-loop turn and uncorked in
 * setImmediate, as Concord's relay does (relaySocket.ts), so a turn's frames
 * to one peer leave in one write. It validates, stores and merges nothing:
 * the upper bound for any relay written on Node and ws.
 */
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

const rooms = new Map<string, Set<WebSocket>>()
const corked = new Set<Socket>()
const uncorkAll = (): void => {
  for (const socket of corked) socket.uncork()
  corked.clear()
}
const send = (peer: WebSocket, data: Buffer, binary: boolean): void => {
  const socket = (peer as unknown as { _socket?: Socket })._socket
  if (socket && !corked.has(socket)) {
    if (corked.size === 0) setImmediate(uncorkAll)
    corked.add(socket)
    socket.cork()
  }
  peer.send(data, { binary })
}

const server = createServer((_request, response) => response.writeHead(404).end())
const wss = new WebSocketServer({ server, perMessageDeflate: false })

wss.on('connection', (socket, request) => {
  const name = request.url ?? '/'
  let room = rooms.get(name)
  if (!room) rooms.set(name, (room = new Set()))
  room.add(socket)
  socket.on('message', (data: Buffer, isBinary) => {
    for (const peer of room) if (peer !== socket) send(peer, data, isBinary)
  })
  socket.on('close', () => {
    room.delete(socket)
    if (room.size === 0) rooms.delete(name)
  })
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on ws://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
