/**
 * Sockets that never finish their upgrade request: they count against their
 * address from the moment they are accepted, are closed after the header
 * timeout, and the server's sockets are capped, so a normal client still
 * gets in. Bounded: at most 40 sockets, each test a few seconds.
 */
import { connect as connectTcp, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { defaultMaxSockets } from './socketGate.js'
import { startRelay, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const sockets: Socket[] = []

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await relay?.close()
  relay = undefined
})

interface HalfOpen {
  /** Everything the relay sent back. */
  readonly received: () => string
  /** Resolves when the relay has closed the socket. */
  readonly closed: Promise<void>
}

/** A socket from `localAddress` (any 127.x.y.z is loopback) that sends the start of an upgrade request, never its end. */
const halfOpen = (port: number, localAddress = '127.0.0.1'): Promise<HalfOpen> =>
  new Promise((resolve, reject) => {
    let received = ''
    const socket = connectTcp({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(`GET /doc HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`)
      resolve({ received: () => received, closed })
    })
    sockets.push(socket)
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()))
    const closed = new Promise<void>((resolveClosed) => socket.once('close', () => resolveClosed()))
    socket.once('error', reject)
  })

/** Resolves true once a WebSocket from `localAddress` opens, false when it is refused or reset. */
const normalClient = (url: string, localAddress = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const ws = new WebSocket(`${url}/doc`, { localAddress })
    ws.once('open', () => {
      ws.close()
      resolve(true)
    })
    ws.once('unexpected-response', () => resolve(false))
    ws.once('error', () => resolve(false))
  })

describe('half-open upgrades', () => {
  it('count against their address at once, are closed after the header timeout, and leave room for others', async () => {
    relay = await startRelay({ maxConnectionsPerIp: 8, headersTimeoutMs: 1_500 })
    const held = await Promise.all(Array.from({ length: 8 }, () => halfOpen(relay!.port)))
    const beyond = await Promise.all(Array.from({ length: 32 }, () => halfOpen(relay!.port)))
    // Beyond 8, each is answered 429 and closed without waiting for its request to end.
    await Promise.all(beyond.map((socket) => socket.closed))
    for (const socket of beyond) expect(socket.received()).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/)
    // The 8 are still held, so 127.0.0.1 gets no more, but another address does.
    expect(await normalClient(relay.url)).toBe(false)
    expect(await normalClient(relay.url, '127.0.0.2')).toBe(true)
    // After the header timeout the 8 are closed, without an answer, and 127.0.0.1 gets in again.
    await Promise.all(held.map((socket) => socket.closed))
    for (const socket of held) expect(socket.received()).toBe('')
    expect(await normalClient(relay.url)).toBe(true)
  })

  it('are capped in total by maxSockets, whatever their addresses', async () => {
    relay = await startRelay({ maxConnectionsPerIp: 100, headersTimeoutMs: 1_500, maxSockets: 10 })
    const held = await Promise.all(Array.from({ length: 10 }, (_, i) => halfOpen(relay!.port, `127.0.1.${i + 1}`)))
    const beyond = await Promise.all(Array.from({ length: 10 }, (_, i) => halfOpen(relay!.port, `127.0.2.${i + 1}`)))
    // Over the cap, the server closes each as soon as it accepts it.
    await Promise.all(beyond.map((socket) => socket.closed))
    for (const socket of beyond) expect(socket.received()).toBe('')
    await Promise.all(held.map((socket) => socket.closed))
    expect(await normalClient(relay.url)).toBe(true)
  })

  it('caps sockets below the file-descriptor limit by default', async () => {
    relay = await startRelay()
    expect(relay.server.maxConnections).toBe(defaultMaxSockets())
    expect(defaultMaxSockets()).toBeGreaterThan(0)
  })
})
