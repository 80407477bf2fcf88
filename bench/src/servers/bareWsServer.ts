/**
 * The bare broadcast server: each binary frame is forwarded as is to the
 * other sockets of its room (the URL path). It validates, stores and merges
 * nothing, so it is the limit for any relay written on Node and ws.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

const rooms = new Map<string, Set<WebSocket>>()
const server = createServer((_request, response) => response.writeHead(404).end())
const wss = new WebSocketServer({ server, perMessageDeflate: false })

wss.on('connection', (socket, request) => {
  const name = request.url ?? '/'
  let room = rooms.get(name)
  if (!room) rooms.set(name, (room = new Set()))
  room.add(socket)
  socket.on('message', (data, isBinary) => {
    for (const peer of room) if (peer !== socket) peer.send(data, { binary: isBinary })
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
