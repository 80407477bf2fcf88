import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkProxy } from './linkProxy.js'

const echoServer = async (): Promise<Server> => {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

const open = async (port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> => {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  // A connection the proxy refuses may be reset before or after it counts as connected.
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed])
  return { socket, received: () => received, closed }
}

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

describe('LinkProxy', () => {
  let server: Server
  let proxy: LinkProxy
  const sockets: Socket[] = []

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy()
    await proxy.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const start = async () => {
    server = await echoServer()
    proxy = await LinkProxy.start((server.address() as AddressInfo).port)
  }

  it('forwards bytes both ways, in order', async () => {
    await start()
    const client = await open(proxy.port)
    sockets.push(client.socket)
    for (let i = 0; i < 20; i++) client.socket.write(`${i},`)
    const expected = Array.from({ length: 20 }, (_, i) => `${i},`).join('')
    await waitFor(() => client.received() === expected, 'the echo')
  })

  it('holds bytes while stalled and delivers them, in order, once healed', async () => {
    await start()
    const client = await open(proxy.port)
    sockets.push(client.socket)
    proxy.stall()
    client.socket.write('one,')
    client.socket.write('two')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(client.received()).toBe('')
    proxy.heal()
    await waitFor(() => client.received() === 'one,two', 'the held bytes')
  })

  it('resets open connections and refuses new ones while cut, and lets them through once healed', async () => {
    await start()
    const client = await open(proxy.port)
    sockets.push(client.socket)
    proxy.cut()
    await client.closed
    const refused = await open(proxy.port)
    sockets.push(refused.socket)
    await refused.closed
    proxy.heal()
    const after = await open(proxy.port)
    sockets.push(after.socket)
    after.socket.write('back')
    await waitFor(() => after.received() === 'back', 'the echo after the heal')
  })

  it('sends new connections to its new target after a retarget', async () => {
    await start()
    const other = createServer((socket) => socket.end('other'))
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    proxy.retarget((other.address() as AddressInfo).port)
    const client = await open(proxy.port)
    sockets.push(client.socket)
    await waitFor(() => client.received() === 'other', 'the new target')
    await new Promise<void>((resolve) => other.close(() => resolve()))
  })
})
