/**
 * Sockets that never finish their upgrade request: they count against their
 * address from the moment they are accepted, are closed after the header
 * timeout, and the server's sockets are capped, so a normal client still
 * gets in. Bounded: at most 40 sockets, each test a few seconds.
 */
import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { connect as connectTcp, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { MemoryDocStore } from './memoryDocStore.js'
import { createRelay } from './relay.js'
import { defaultMaxSockets } from './socketGate.js'
import { makeTempDir, startRelay, type TestRelay } from './test/relayHarness.js'

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

  it('behind TLS, gate the TLS socket that carries the requests: a WebSocket outlives the header timeout', async () => {
    const dir = await makeTempDir()
    try {
      // A throwaway self-signed certificate for 127.0.0.1.
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      )
      const server = createHttpsServer({
        key: readFileSync(join(dir, 'key.pem')),
        cert: readFileSync(join(dir, 'cert.pem')),
      })
      const tlsRelay = createRelay({ store: new MemoryDocStore(), maxConnectionsPerIp: 2, headersTimeoutMs: 300 })
      tlsRelay.attach(server as never)
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/doc`
      const open = (): Promise<WebSocket | number> =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { rejectUnauthorized: false })
          ws.once('open', () => resolve(ws))
          ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
          ws.once('error', reject)
        })
      try {
        const first = await open()
        const second = await open()
        expect(first).toBeInstanceOf(WebSocket)
        expect(second).toBeInstanceOf(WebSocket)
        expect(await open()).toBe(429)
        await new Promise((resolve) => setTimeout(resolve, 600))
        expect((first as WebSocket).readyState).toBe(WebSocket.OPEN)
        for (const ws of [first, second] as WebSocket[]) ws.close()
      } finally {
        await tlsRelay.close()
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
