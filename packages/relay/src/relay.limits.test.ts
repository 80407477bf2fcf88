import { once } from 'node:events'
import { closeCodes, encodeNativeFrame, encodeYWebsocketMessage, nativeSubprotocol } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { MemoryDocStore } from './memoryDocStore.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const sockets: WebSocket[] = []
const clients: NativeTestClient[] = []

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
})

const connect = async () => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

/** Opens a raw socket; resolves with it once open, or with the HTTP status of a refused upgrade. */
const rawSocket = async (
  path = '/doc',
  options: { protocol?: string; origin?: string; forwardedFor?: string } = {},
) => {
  const ws = new WebSocket(`${relay!.url}${path}`, options.protocol ? [options.protocol] : [], {
    ...(options.origin && { origin: options.origin }),
    ...(options.forwardedFor && { headers: { 'x-forwarded-for': options.forwardedFor } }),
  })
  sockets.push(ws)
  return new Promise<{ ws: WebSocket; refusedWith?: number | undefined }>((resolve, reject) => {
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_request, response) => resolve({ ws, refusedWith: response.statusCode }))
    ws.once('error', reject)
  })
}

/** One update per call, each inserting `size` characters, so frames are about `size` bytes. */
const writer = (size: number) => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  return (count: number) => {
    for (let i = 0; i < count; i++) doc.getText('t').insert(0, 'x'.repeat(size))
    return updates.splice(0)
  }
}

describe('limits', () => {
  it('throttles a connection over its byte rate, and still delivers everything it sent', async () => {
    relay = await startRelay({ rateLimit: { bytesPerSecond: 100_000, byteBurst: 10_000 } })
    const watcher = await connect()
    const seen = watcher.open('flood').doc
    await watcher.whenSynced('flood')
    const { ws } = await rawSocket('/flood')
    const updates = writer(1_000)(200)
    for (const update of updates) ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    await new Promise((resolve) => setTimeout(resolve, 300))
    // 200 KB at 100 KB/s after a 10 KB burst: far from all of it can have passed in 300 ms.
    expect(seen.getText('t').length).toBeLessThan(150_000)
    await waitFor(() => seen.getText('t').length === 200_000, 'every update to arrive')
  })

  it('refuses upgrades beyond the connections allowed per address (HTTP 429), until one closes', async () => {
    relay = await startRelay({ maxConnectionsPerIp: 2 })
    const first = await rawSocket()
    await rawSocket()
    expect((await rawSocket()).refusedWith).toBe(429)
    first.ws.close()
    await waitFor(() => relay!.relay.stats().connections === 1, 'the first connection to close')
    expect((await rawSocket()).refusedWith).toBeUndefined()
  })

  it('counts a connection from a trusted proxy as the address it forwards for, and no other', async () => {
    relay = await startRelay({ maxConnectionsPerIp: 1, trustedProxies: ['127.0.0.1'] })
    const through = async (forwardedFor: string) => (await rawSocket('/doc', { forwardedFor })).refusedWith
    expect(await through('198.51.100.1')).toBeUndefined()
    expect(await through('198.51.100.2')).toBeUndefined()
    // The same client again, even behind an address it made up: the proxy appended the last entry.
    expect(await through('203.0.113.66, 198.51.100.1')).toBe(429)
    expect(relay.relay.stats().connections).toBe(2)
  })

  it('ignores X-Forwarded-For from a peer it does not trust', async () => {
    relay = await startRelay({ maxConnectionsPerIp: 1 })
    expect((await rawSocket('/doc', { forwardedFor: '198.51.100.1' })).refusedWith).toBeUndefined()
    expect((await rawSocket('/doc', { forwardedFor: '198.51.100.2' })).refusedWith).toBe(429)
  })

  it('refuses an open beyond the documents allowed per connection, and keeps the others', async () => {
    relay = await startRelay({ maxDocumentsPerConnection: 2 })
    const client = await connect()
    client.open('one')
    client.open('two')
    const third = client.open('three')
    await waitFor(() => third.error !== undefined, 'the refusal')
    expect(third.error?.code).toBe(closeCodes.rateLimited)
    client.documents.get('two')!.doc.getText('t').insert(0, 'still fine')
    await client.whenAcked('two')
    // Closing one makes room.
    client.send({ type: 'close', doc: 'one' })
    client.documents.delete('three')
    client.open('three')
    await client.whenSynced('three')
  })

  it('closes (4429) a connection that piles up frames while its authorization is pending, in both modes', async () => {
    relay = await startRelay({ authenticate: () => new Promise(() => {}), maxWaitingFrames: 50 })
    const updates = writer(10)(60)
    const native = (await rawSocket('/', { protocol: nativeSubprotocol })).ws
    native.send(encodeNativeFrame({ type: 'open', doc: 'd' }))
    for (const [i, update] of updates.entries()) {
      native.send(encodeNativeFrame({ type: 'sync', doc: 'd', seq: i + 1, sync: { type: 'update', update } }))
    }
    const [nativeCode] = (await once(native, 'close')) as [number]
    expect(nativeCode).toBe(closeCodes.rateLimited)
    const yWebsocket = (await rawSocket('/d')).ws
    for (const update of updates)
      yWebsocket.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    const [yWebsocketCode] = (await once(yWebsocket, 'close')) as [number]
    expect(yWebsocketCode).toBe(closeCodes.rateLimited)
  })

  it('closes (4429) a connection whose frames waiting for authorization pass maxWaitingBytes, in both modes, and frees them', async () => {
    relay = await startRelay({ authenticate: () => new Promise(() => {}), maxWaitingBytes: 64 * 1024 })
    // Three frames of 30 KiB: far below the 256 frames that may wait, past the bytes.
    const updates = writer(30 * 1024)(3)
    const native = (await rawSocket('/', { protocol: nativeSubprotocol })).ws
    let nativeCode: number | undefined
    native.on('close', (code) => (nativeCode = code))
    native.send(encodeNativeFrame({ type: 'open', doc: 'd' }))
    for (const [i, update] of updates.entries()) {
      native.send(encodeNativeFrame({ type: 'sync', doc: 'd', seq: i + 1, sync: { type: 'update', update } }))
    }
    await waitFor(() => nativeCode !== undefined, 'the native connection to be closed')
    expect(nativeCode).toBe(closeCodes.rateLimited)
    const yWebsocket = (await rawSocket('/d')).ws
    let yWebsocketCode: number | undefined
    yWebsocket.on('close', (code) => (yWebsocketCode = code))
    for (const update of updates)
      yWebsocket.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    await waitFor(() => yWebsocketCode !== undefined, 'the y-websocket connection to be closed')
    expect(yWebsocketCode).toBe(closeCodes.rateLimited)
    // What waited counted against the relay's queued bytes, and is freed with the connections.
    await waitFor(() => relay!.relay.stats().queuedBytes === 0, 'the waiting frames to be freed')
  })

  it('counts frames waiting for authorization against maxQueuedBytes, and frees them once authorized', async () => {
    let allow: (() => void) | undefined
    const authorized = new Promise<void>((resolve) => (allow = resolve))
    relay = await startRelay({
      authenticate: async () => {
        await authorized
        return { access: 'write' }
      },
    })
    const updates = writer(10 * 1024)(2)
    const native = (await rawSocket('/', { protocol: nativeSubprotocol })).ws
    native.send(encodeNativeFrame({ type: 'open', doc: 'd' }))
    for (const [i, update] of updates.entries()) {
      native.send(encodeNativeFrame({ type: 'sync', doc: 'd', seq: i + 1, sync: { type: 'update', update } }))
    }
    await waitFor(() => relay!.relay.stats().queuedBytes > 20 * 1024, 'the waiting frames to be counted')
    allow!()
    await waitFor(() => relay!.relay.stats().queuedBytes === 0, 'the delivered frames to be freed')
  })

  it('closes (4429) a connection that piles up frames while its document loads, in both modes', async () => {
    const store = new MemoryDocStore()
    store.load = () => new Promise(() => {})
    relay = await startRelay({ store, maxWaitingFrames: 50 })
    const updates = writer(11)(60)
    const native = (await rawSocket('/', { protocol: nativeSubprotocol })).ws
    native.send(encodeNativeFrame({ type: 'open', doc: 'd' }))
    for (const [i, update] of updates.entries()) {
      native.send(encodeNativeFrame({ type: 'sync', doc: 'd', seq: i + 1, sync: { type: 'update', update } }))
    }
    const [nativeCode] = (await once(native, 'close')) as [number]
    expect(nativeCode).toBe(closeCodes.rateLimited)
    const yWebsocket = (await rawSocket('/d')).ws
    for (const update of updates)
      yWebsocket.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    const [yWebsocketCode] = (await once(yWebsocket, 'close')) as [number]
    expect(yWebsocketCode).toBe(closeCodes.rateLimited)
  })

  it('refuses a browser upgrade from an Origin not allowed (HTTP 403), but not clients without one', async () => {
    relay = await startRelay({ allowedOrigins: ['https://app.example'] })
    expect((await rawSocket('/doc', { origin: 'https://evil.example' })).refusedWith).toBe(403)
    expect((await rawSocket('/doc', { origin: 'https://app.example' })).refusedWith).toBeUndefined()
    expect((await rawSocket('/doc')).refusedWith).toBeUndefined()
  })
})
