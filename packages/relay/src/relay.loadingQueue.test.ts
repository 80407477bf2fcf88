/**
 * Frames that wait for a document to load: capped per peer, per document
 * and per relay in bytes, freed when their peer leaves, and refused (4503)
 * with the document when the store does not answer within storeTimeoutMs.
 */
import { once } from 'node:events'
import { closeCodes, encodeNativeFrame, encodeYWebsocketMessage, nativeSubprotocol } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
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

const kib = 1024
/** No throttling: these tests are about what waits, not about how fast it comes. */
const unthrottled = { messagesPerSecond: 1e6, messageBurst: 1e6, bytesPerSecond: 1e9, byteBurst: 1e9 }

/** One update of about 64 KiB (sent many times: nothing checks it while the document loads). */
const bigUpdate = (() => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'x'.repeat(64 * kib))
  return Y.encodeStateAsUpdate(doc)
})()

const nativeSocket = async (): Promise<WebSocket> => {
  const ws = new WebSocket(relay!.url, [nativeSubprotocol])
  sockets.push(ws)
  await once(ws, 'open')
  return ws
}

/** Opens `doc` on a new socket and sends `count` big updates for it. */
const flood = async (doc: string, count: number): Promise<WebSocket> => {
  const ws = await nativeSocket()
  ws.send(encodeNativeFrame({ type: 'open', doc }))
  for (let seq = 1; seq <= count; seq++) {
    ws.send(encodeNativeFrame({ type: 'sync', doc, seq, sync: { type: 'update', update: bigUpdate } }))
  }
  return ws
}

const queued = (): number => relay!.relay.stats().queuedBytes

describe('frames queued while a document loads', () => {
  it('frees the frames of a peer that leaves, so open-flood-close cycles stay bounded while a load hangs', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load')
    relay = await startRelay({ store, rateLimit: unthrottled })
    const perCycle = 100 * bigUpdate.byteLength
    let highest = 0
    for (let cycle = 0; cycle < 8; cycle++) {
      const ws = await flood('hung', 100)
      await waitFor(() => queued() >= perCycle, `cycle ${cycle}: the frames to be queued`)
      highest = Math.max(highest, queued())
      ws.close()
      await waitFor(() => queued() === 0, `cycle ${cycle}: the frames of the peer that left to be freed`)
    }
    expect(highest).toBe(perCycle)
    expect(store.waiting('load')).toBe(1)
  })

  it('frees the frames of a y-websocket peer that disconnects while the load hangs', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load')
    relay = await startRelay({ store, rateLimit: unthrottled })
    for (let cycle = 0; cycle < 3; cycle++) {
      const ws = new WebSocket(`${relay.url}/hung`)
      sockets.push(ws)
      await once(ws, 'open')
      for (let i = 0; i < 20; i++)
        ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update: bigUpdate } }))
      await waitFor(() => queued() === 20 * bigUpdate.byteLength, `cycle ${cycle}: the frames to be queued`)
      ws.close()
      await waitFor(() => queued() === 0, `cycle ${cycle}: the frames to be freed`)
    }
  })

  it('frees the frames of a native peer that closes the document, keeping the connection', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load')
    relay = await startRelay({ store, rateLimit: unthrottled })
    const ws = await flood('hung', 10)
    await waitFor(() => queued() === 10 * bigUpdate.byteLength, 'the frames to be queued')
    ws.send(encodeNativeFrame({ type: 'close', doc: 'hung' }))
    await waitFor(() => queued() === 0, 'the frames to be freed')
    expect(ws.readyState).toBe(WebSocket.OPEN)
  })

  it('closes (4429) the connection whose frame passes the per-document byte cap, and frees what it queued', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load')
    relay = await startRelay({ store, rateLimit: unthrottled, maxQueuedBytesPerDocument: 10 * bigUpdate.byteLength })
    const first = await flood('capped', 6)
    await waitFor(() => queued() === 6 * bigUpdate.byteLength, 'the first frames to be queued')
    const second = await flood('capped', 6)
    const [code, reason] = (await once(second, 'close')) as [number, Buffer]
    expect(code).toBe(closeCodes.rateLimited)
    expect(reason.toString()).toContain('bytes wait for this document to load')
    await waitFor(() => queued() === 6 * bigUpdate.byteLength, 'the refused peer’s frames to be freed')
    expect(first.readyState).toBe(WebSocket.OPEN)
  })

  it('closes (4429) the connection whose frame passes the relay-wide byte cap, whatever the document', async () => {
    const store = new FaultInjectingDocStore()
    store.stall('load')
    relay = await startRelay({ store, rateLimit: unthrottled, maxQueuedBytes: 10 * bigUpdate.byteLength })
    await flood('one', 6)
    await waitFor(() => queued() === 6 * bigUpdate.byteLength, 'the first frames to be queued')
    const [code, reason] = (await once(await flood('two', 6), 'close')) as [number, Buffer]
    expect(code).toBe(closeCodes.rateLimited)
    expect(reason.toString()).toContain('bytes wait for documents to load on this relay')
    await waitFor(() => queued() === 6 * bigUpdate.byteLength, 'the refused peer’s frames to be freed')
  })

  it('refuses (4503) a document whose load does not answer within storeTimeoutMs, then serves it', async () => {
    const store = new FaultInjectingDocStore()
    const hung = store.stall('load', { times: 1 })
    relay = await startRelay({ store, storeTimeoutMs: 200 })
    const client = await NativeTestClient.connect(relay.url)
    clients.push(client)
    const entry = client.open('slow')
    entry.doc.getText('t').insert(0, 'typed at once')
    await waitFor(() => entry.error !== undefined, 'the document to be refused')
    expect(entry.error).toMatchObject({ code: closeCodes.documentUnavailable })
    expect(entry.ackedSeq).toBe(0)
    expect(queued()).toBe(0)
    expect(relay.relay.stats().documents).toBe(0)
    // The client retries, as @concord/client does after a 4503: the store answers now.
    client.send({ type: 'close', doc: 'slow' })
    const again = client.open('slow', entry.doc)
    await client.whenSynced('slow')
    client.send({
      type: 'sync',
      doc: 'slow',
      seq: ++again.sentSeq,
      sync: { type: 'update', update: Y.encodeStateAsUpdate(entry.doc) },
    })
    await client.whenAcked('slow')
    hung.release()
    const stored = new Y.Doc()
    for (const update of await store.inner.load('slow')) Y.applyUpdate(stored, update)
    expect(stored.getText('t').toString()).toBe('typed at once')
  })
})
