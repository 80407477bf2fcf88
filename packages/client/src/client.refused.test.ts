/**
 * The client against a relay double on a fake WebSocket, for what a real
 * relay cannot be made to do on cue. The `refused` frame (concord.v2): a
 * refused frame's edits stay pending, the app is told with a typed error, no
 * later ack settles them, and the next connection sends them again. And
 * frames of a document's earlier opening, still on their way when the
 * document is closed and opened again, are never taken for the new opening's.
 */
import { closeCodes, type NativeFrame } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { waitFor } from '@concord/relay/testing'
import { createClient, type ConcordClient } from './client.js'
import type { ConcordError } from './errors.js'
import { MemoryLocalStore } from './memoryLocalStore.js'
import { fakeWebSockets, type FakeWebSocket } from './test/fakeWebSocket.js'

const clients: ConcordClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.destroy().catch(() => {})))
})

const setUp = () => {
  const fakes = fakeWebSockets()
  const client = createClient({
    url: 'ws://relay.double',
    WebSocket: fakes.WebSocket,
    store: new MemoryLocalStore(),
    shareAcrossTabs: false,
    connection: { backoff: { initialDelayMs: 5, maxDelayMs: 10 } },
  })
  clients.push(client)
  const errors: ConcordError[] = []
  client.on('error', (error) => errors.push(error))
  return { ...fakes, client, errors }
}

type SyncFrame = Extract<NativeFrame, { type: 'sync' }>

const syncSent = (socket: FakeWebSocket, type: 'step1' | 'step2' | 'update'): SyncFrame[] =>
  socket.sent.filter((frame): frame is SyncFrame => frame.type === 'sync' && frame.sync.type === type)

/** Accepts the socket and plays the relay's side of opening `doc` on it: its step 1, and its (empty) state. */
const acceptAndOpen = async (socket: FakeWebSocket, doc: string): Promise<void> => {
  socket.open()
  await waitFor(() => syncSent(socket, 'step1').length === 1, 'the client to open the document')
  socket.receive({ type: 'sync', doc, seq: 0, sync: { type: 'step1', stateVector: Y.encodeStateVector(new Y.Doc()) } })
  socket.receive({ type: 'sync', doc, seq: 0, sync: { type: 'step2', update: Y.encodeStateAsUpdate(new Y.Doc()) } })
  await waitFor(() => syncSent(socket, 'step2').length === 1, "the client's step 2")
}

const textOf = ({ sync }: SyncFrame): string => {
  const doc = new Y.Doc()
  if (sync.type !== 'step1') Y.applyUpdate(doc, sync.update)
  return doc.getText('t').toString()
}

/** Lets every timer and I/O callback due now run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('a refused frame', () => {
  it('keeps its edits pending and tells the app; no later ack settles them; the next connection sends them again', async () => {
    const { client, errors, sockets, latest } = setUp()
    const handle = client.open('doc')
    await handle.whenLoaded()
    await acceptAndOpen(latest(), 'doc')
    const first = latest()
    first.receive({ type: 'ack', doc: 'doc', seq: syncSent(first, 'step2')[0]!.seq })
    await handle.whenSynced()

    handle.doc.getText('t').insert(0, 'refused edit')
    await waitFor(() => syncSent(first, 'update').length === 1, 'the update frame')
    const refusedSeq = syncSent(first, 'update')[0]!.seq
    let synced = false
    void handle.whenSynced().then(() => (synced = true))
    first.receive({
      type: 'refused',
      doc: 'doc',
      seq: refusedSeq,
      code: closeCodes.invalidUpdate,
      reason: 'contradicts',
    })
    first.receive({ type: 'ack', doc: 'doc', seq: refusedSeq })
    await settle()
    expect([handle.pending, handle.status, synced]).toEqual([1, 'syncing', false])
    expect(errors).toMatchObject([{ name: 'ConcordError', code: 'refused', doc: 'doc', closeCode: 4422 }])

    // A later edit is accepted and acknowledged; the refused one still is not.
    handle.doc.getText('t').insert(0, '> ')
    await waitFor(() => syncSent(first, 'update').length === 2, 'the second update frame')
    first.receive({ type: 'ack', doc: 'doc', seq: syncSent(first, 'update')[1]!.seq })
    await settle()
    expect([handle.pending, handle.status, synced]).toEqual([1, 'syncing', false])

    // Next connection: the step 2 carries it again, and is refused again (read-only now, say).
    first.serverClose(1001)
    await waitFor(() => sockets.length === 2, 'a reconnect')
    await acceptAndOpen(latest(), 'doc')
    const second = latest()
    const [resent] = syncSent(second, 'step2')
    expect(textOf(resent!)).toBe('> refused edit')
    second.receive({ type: 'refused', doc: 'doc', seq: resent!.seq, code: closeCodes.forbidden, reason: 'read-only' })
    second.receive({ type: 'ack', doc: 'doc', seq: resent!.seq })
    await settle()
    expect([handle.pending, handle.status, synced]).toEqual([1, 'syncing', false])
    expect(errors.at(-1)).toMatchObject({ code: 'refused', closeCode: 4403 })

    // And once a connection accepts it, it is settled.
    second.serverClose(1001)
    await waitFor(() => sockets.length === 3, 'another reconnect')
    await acceptAndOpen(latest(), 'doc')
    const third = latest()
    third.receive({ type: 'ack', doc: 'doc', seq: syncSent(third, 'step2')[0]!.seq })
    await handle.whenSynced()
    expect([handle.pending, handle.status, synced]).toEqual([0, 'synced', true])
  })

  it('settles only the frames that were not refused, when one ack covers several', async () => {
    const { client, errors, latest } = setUp()
    const handle = client.open('doc')
    await handle.whenLoaded()
    await acceptAndOpen(latest(), 'doc')
    const socket = latest()
    socket.receive({ type: 'ack', doc: 'doc', seq: syncSent(socket, 'step2')[0]!.seq })
    await handle.whenSynced()
    const text = handle.doc.getText('t')
    for (const letter of 'abc') text.insert(text.length, letter)
    await waitFor(() => syncSent(socket, 'update').length === 3, 'three update frames')
    const [a, b, c] = syncSent(socket, 'update')
    socket.receive({ type: 'refused', doc: 'doc', seq: b!.seq, code: closeCodes.invalidUpdate, reason: '' })
    socket.receive({ type: 'ack', doc: 'doc', seq: c!.seq })
    await settle()
    expect(a!.seq < b!.seq && b!.seq < c!.seq).toBe(true)
    expect(handle.pending).toBe(1)
    expect(handle.status).toBe('syncing')
    // Refused again for the same reason on this connection: pending, and the app is not told twice.
    text.insert(text.length, 'd')
    await waitFor(() => syncSent(socket, 'update').length === 4, 'a fourth update frame')
    socket.receive({ type: 'refused', doc: 'doc', seq: syncSent(socket, 'update')[3]!.seq, code: 4422, reason: '' })
    await settle()
    expect(handle.pending).toBe(2)
    expect(errors.filter(({ code }) => code === 'refused')).toHaveLength(1)
  })
})

describe('a read-only connection', () => {
  it('says nothing of a refused step 2 that carried no edit, and tells of the first refused edit', async () => {
    const { client, errors, latest } = setUp()
    const handle = client.open('doc')
    await handle.whenLoaded()
    await acceptAndOpen(latest(), 'doc')
    const socket = latest()
    // As a relay does for a reader: its (empty) step 2 is dropped, and refused.
    socket.receive({
      type: 'refused',
      doc: 'doc',
      seq: syncSent(socket, 'step2')[0]!.seq,
      code: 4403,
      reason: 'read-only',
    })
    await handle.whenSynced()
    expect(errors).toEqual([])
    handle.doc.getText('t').insert(0, 'typed by a reader')
    await waitFor(() => syncSent(socket, 'update').length === 1, 'the update frame')
    socket.receive({
      type: 'refused',
      doc: 'doc',
      seq: syncSent(socket, 'update')[0]!.seq,
      code: 4403,
      reason: 'read-only',
    })
    await settle()
    expect(errors).toMatchObject([{ code: 'refused', closeCode: 4403, message: /refused 1 edit of "doc"/ }])
    expect([handle.pending, handle.status]).toEqual([1, 'syncing'])
  })
})

describe('a document closed and opened again on one connection', () => {
  it("never takes the old opening's late ack or error for the new one's", async () => {
    const { client, errors, latest } = setUp()
    const first = client.open('doc')
    await first.whenLoaded()
    await acceptAndOpen(latest(), 'doc')
    const socket = latest()
    socket.receive({ type: 'ack', doc: 'doc', seq: syncSent(socket, 'step2')[0]!.seq })
    await first.whenSynced()
    first.doc.getText('t').insert(0, 'sent, not yet acknowledged')
    await waitFor(() => syncSent(socket, 'update').length === 1, 'the update frame')
    const oldSeq = syncSent(socket, 'update')[0]!.seq

    void first.close()
    const second = client.open('doc')
    await second.whenLoaded()
    await waitFor(() => socket.sent.some((frame) => frame.type === 'ping'), 'the round trip after close')
    const ping = socket.sent.find((frame) => frame.type === 'ping')!
    // What the relay sent for the old opening before it read the close: an ack, then its store failed.
    socket.receive({ type: 'ack', doc: 'doc', seq: oldSeq + 5 })
    socket.receive({ type: 'error', doc: 'doc', code: closeCodes.documentUnavailable, reason: 'store failed' })
    socket.receive({ type: 'pong', doc: '', id: ping.type === 'ping' ? ping.id : 0 })
    await waitFor(() => socket.sent.filter((frame) => frame.type === 'open').length === 2, 'the second open')
    await settle()
    // One close, then one open: the late error did not make the new handle open twice.
    expect(
      socket.sent.filter((frame) => frame.type === 'open' || frame.type === 'close').map(({ type }) => type),
    ).toEqual(['open', 'close', 'open'])
    expect(errors).toEqual([])
    socket.receive({ type: 'sync', doc: 'doc', seq: 0, sync: { type: 'step1', stateVector: new Uint8Array([0]) } })
    socket.receive({ type: 'sync', doc: 'doc', seq: 0, sync: { type: 'step2', update: new Uint8Array([0, 0]) } })
    await waitFor(() => syncSent(socket, 'step2').length === 2, 'the new step 2')
    await settle()
    // The late ack settled nothing of the new opening.
    expect([second.pending, second.status]).toEqual([1, 'syncing'])
    const step2 = syncSent(socket, 'step2')[1]!
    expect(textOf(step2)).toBe('sent, not yet acknowledged')
    socket.receive({ type: 'ack', doc: 'doc', seq: step2.seq })
    await second.whenSynced()
    expect(second.pending).toBe(0)
  })
})
