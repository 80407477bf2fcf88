import { closeCodes, decodeAwarenessUpdate, encodeAwarenessUpdate } from '@concord/protocol'
import { rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { isLongTail } from './longTail.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { ControlledStore } from './test/controlledStore.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { eventually, makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const clients: NativeTestClient[] = []
const tempDirs: string[] = []

const connect = async () => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

const text = (doc: Y.Doc) => doc.getText('t').toString()
const waitForText = (doc: Y.Doc, expected: string) => waitFor(() => text(doc) === expected, `text "${expected}"`)
const storedText = async (name: string) => {
  const doc = new Y.Doc()
  for (const update of await relay!.store.load(name)) Y.applyUpdate(doc, update)
  return text(doc)
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** For the presence tests: everyone opens 'room'. */
const openRoom = async (...clients: NativeTestClient[]) => {
  for (const client of clients) client.open('room')
  await Promise.all(clients.map((client) => client.whenSynced('room')))
}
const presenceAt = (client: NativeTestClient) =>
  client.received.flatMap((frame) => (frame.type === 'awareness' ? decodeAwarenessUpdate(frame.update) : []))
/** Sends the presence of Yjs client 7 from `client`. */
const say = (client: NativeTestClient, clock: number, state: string) =>
  client.send({ type: 'awareness', doc: 'room', update: encodeAwarenessUpdate([{ clientId: 7, clock, state }]) })

describe('native mode (concord.v2)', () => {
  it('syncs two clients and acknowledges updates once they are stored', async () => {
    relay = await startRelay()
    const [alice, bob] = [await connect(), await connect()]
    const a = alice.open('notes')
    const b = bob.open('notes')
    await Promise.all([alice.whenSynced('notes'), bob.whenSynced('notes')])
    a.doc.getText('t').insert(0, 'hello')
    a.doc.getMap('m').set('k', 1)
    await alice.whenAcked('notes')
    expect(await storedText('notes')).toBe('hello')
    await waitForText(b.doc, 'hello')
    expect(b.doc.getMap('m').get('k')).toBe(1)
  })

  it('serves many documents over one socket, each with its own acks', async () => {
    relay = await startRelay()
    const writer = await connect()
    const reader = await connect()
    const names = Array.from({ length: 20 }, (_, i) => `doc-${i}`)
    for (const name of names) {
      writer.open(name)
      reader.open(name)
    }
    await Promise.all(names.map((name) => writer.whenSynced(name)))
    for (const [i, name] of names.entries()) writer.documents.get(name)!.doc.getText('t').insert(0, `text ${i}`)
    await Promise.all(names.map((name) => writer.whenAcked(name)))
    for (const [i, name] of names.entries()) await waitForText(reader.documents.get(name)!.doc, `text ${i}`)
    expect(relay.relay.stats()).toEqual({ connections: 2, documents: 20, queuedBytes: 0 })
  })

  it('answers a ping with a pong of the same id, so a browser can tell its socket is alive', async () => {
    relay = await startRelay()
    const client = await connect()
    client.send({ type: 'ping', doc: '', id: 41 })
    client.send({ type: 'ping', doc: '', id: 42 })
    await waitFor(() => client.received.length === 2, 'two pongs')
    expect(client.received).toEqual([
      { type: 'pong', doc: '', id: 41 },
      { type: 'pong', doc: '', id: 42 },
    ])
  })

  it("does not let one client change or clear another client's presence", async () => {
    relay = await startRelay()
    const [alice, mallory, bob] = [await connect(), await connect(), await connect()]
    for (const client of [alice, mallory, bob]) client.open('room')
    await Promise.all([alice, mallory, bob].map((client) => client.whenSynced('room')))
    const presenceAtBob = () =>
      bob.received.flatMap((frame) => (frame.type === 'awareness' ? decodeAwarenessUpdate(frame.update) : []))
    alice.send({
      type: 'awareness',
      doc: 'room',
      update: encodeAwarenessUpdate([{ clientId: 7, clock: 1, state: '{"n":"alice"}' }]),
    })
    await waitFor(() => presenceAtBob().length === 1, "Alice's presence at Bob")
    mallory.send({
      type: 'awareness',
      doc: 'room',
      update: encodeAwarenessUpdate([{ clientId: 7, clock: 2, state: 'null' }]),
    })
    mallory.send({
      type: 'awareness',
      doc: 'room',
      update: encodeAwarenessUpdate([{ clientId: 8, clock: 1, state: '{"n":"mallory"}' }]),
    })
    await waitFor(() => presenceAtBob().length === 2, "Mallory's own presence at Bob")
    expect(presenceAtBob()).toEqual([
      { clientId: 7, clock: 1, state: '{"n":"alice"}' },
      { clientId: 8, clock: 1, state: '{"n":"mallory"}' },
    ])
  })

  it('passes a client id to a new connection once the socket that owned it stops answering', async () => {
    relay = await startRelay({ presenceProbeTimeoutMs: 300 })
    const [old, renewed, bob] = [await connect(), await connect(), await connect()]
    await openRoom(old, renewed, bob)
    const presenceAtBob = () => presenceAt(bob)
    say(old, 1, '{"n":"alice"}')
    await waitFor(() => presenceAtBob().length === 1, "Alice's presence at Bob")

    // Her old socket goes silent, as on a network that went away: it reads nothing, so it answers no ping.
    ;(old.ws as unknown as { _socket: { pause(): void } })._socket.pause()
    say(renewed, 3, '{"n":"alice, again"}')
    await waitFor(() => presenceAtBob().length === 2, 'her presence from the new connection at Bob')
    expect(presenceAtBob()).toEqual([
      { clientId: 7, clock: 1, state: '{"n":"alice"}' },
      { clientId: 7, clock: 3, state: '{"n":"alice, again"}' },
    ])
    await waitFor(() => relay!.relay.stats().connections === 2, 'the silent socket dropped')
  })

  it('keeps a client id with an owner that answers, and hands it over when that owner leaves', async () => {
    // A probe's answer may be as late as 1 s (a loaded machine stalls this process, relay and clients alike).
    relay = await startRelay({ presenceProbeTimeoutMs: 1_000 })
    const [owner, claimer, bob] = [await connect(), await connect(), await connect()]
    await openRoom(owner, claimer, bob)
    const presenceAtBob = () => presenceAt(bob)
    say(owner, 1, '{"n":"owner"}')
    await waitFor(() => presenceAtBob().length === 1, "the owner's presence at Bob")
    // Each claim of the owner's client probes the owner with a ping, unless a probe is under way.
    let probes = 0
    owner.ws.on('ping', () => probes++)
    // The owner answers (its socket pongs by itself). Claimed until a second probe comes: the first one's
    // timeout has then passed, and the owner is still connected and still shown.
    await waitFor(() => {
      if (probes < 2) say(claimer, 5, '{"n":"claimer"}')
      return probes >= 2
    }, 'a second probe of the owner, once the first one ended')
    expect(relay.relay.stats().connections).toBe(3)
    expect(presenceAtBob()).toEqual([{ clientId: 7, clock: 1, state: '{"n":"owner"}' }])

    owner.close()
    await waitFor(() => presenceAtBob().length === 2, 'the claim at Bob')
    expect(presenceAtBob()[1]).toEqual({ clientId: 7, clock: 5, state: '{"n":"claimer"}' })
  })

  it('batches acks: many updates in one burst get far fewer ack frames', async () => {
    relay = await startRelay()
    const client = await connect()
    const { doc } = client.open('burst')
    await client.whenSynced('burst')
    for (let i = 0; i < 200; i++) doc.getText('t').insert(i, 'x')
    await client.whenAcked('burst')
    const acks = client.received.filter((frame) => frame.type === 'ack')
    expect(acks.at(-1)).toMatchObject({ seq: client.documents.get('burst')!.sentSeq })
    expect(acks.length).toBeLessThan(50)
  })

  it('does not acknowledge an update before the store has made it durable', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store })
    const [alice, bob] = [await connect(), await connect()]
    const a = alice.open('held')
    const b = bob.open('held')
    await Promise.all([alice.whenSynced('held'), bob.whenSynced('held')])
    // The ack of each client's step 2 may come after the relay's step 2: wait for it, or it would look like a new ack.
    await Promise.all([alice.whenAcked('held'), bob.whenAcked('held')])
    const ackedBefore = a.ackedSeq
    store.hold()
    a.doc.getText('t').insert(0, 'pending')
    // Forwarding does not wait for durability; acknowledging does.
    await waitForText(b.doc, 'pending')
    expect(store.heldAppends).toBe(1)
    expect(a.ackedSeq).toBe(ackedBefore)
    store.release()
    await alice.whenAcked('held')
  })

  it('keeps the state across a relay restart on the same data directory', async () => {
    const dataDir = await makeTempDir()
    tempDirs.push(dataDir)
    relay = await startRelay({ dataDir })
    const writer = await connect()
    writer.open('kept').doc.getText('t').insert(0, 'survives restarts')
    await writer.whenAcked('kept')
    await relay.close()
    relay = await startRelay({ dataDir })
    const reader = await connect()
    const { doc } = reader.open('kept')
    await reader.whenSynced('kept')
    expect(text(doc)).toBe('survives restarts')
  })

  it('compacts the stored log without changing the state it serves', async () => {
    const dataDir = await makeTempDir()
    tempDirs.push(dataDir)
    relay = await startRelay({ dataDir, compactAfterUpdates: 20 })
    const writer = await connect()
    const { doc } = writer.open('long')
    await writer.whenSynced('long')
    for (let i = 0; i < 300; i++) {
      doc.getText('t').insert(i, String(i % 10))
      if (i % 7 === 0) doc.getMap('m').set(`k${i}`, i)
    }
    await writer.whenAcked('long')
    // An ack waits for the append, not for a compaction it started: wait for what is stored to be short.
    const stateBytes = Y.encodeStateAsUpdate(doc).byteLength
    await eventually(async () => {
      const [, ...tail] = await relay!.store.load('long')
      const bytes = tail.reduce((sum, update) => sum + update.byteLength, 0)
      return !isLongTail({ updates: tail.length, bytes }, stateBytes, 20, 1)
    }, 'the log to be compacted')
    const expectServesTheSameState = async () => {
      const reader = await connect()
      const copy = reader.open('long').doc
      await reader.whenSynced('long')
      expect(text(copy)).toBe(text(doc))
      expect(copy.getMap('m').toJSON()).toEqual(doc.getMap('m').toJSON())
      expect(Y.encodeStateVector(copy)).toEqual(Y.encodeStateVector(doc))
    }
    await expectServesTheSameState()
    await relay.close()
    relay = await startRelay({ dataDir })
    await expectServesTheSameState()
  })

  it('compacts again once a compaction ends, when the log grew long while it ran', async () => {
    const store = new FaultInjectingDocStore()
    const stall = store.stall('compact', { at: 'answer', times: 1 })
    relay = await startRelay({ store, compactAfterUpdates: 20 })
    const writer = await connect()
    const { doc } = writer.open('long')
    await writer.whenSynced('long')
    const type = (count: number) => {
      for (let i = 0; i < count; i++) doc.getText('t').insert(doc.getText('t').length, 'x')
    }
    type(20)
    await waitFor(() => stall.answered === 1, 'the first compaction, its answer held')
    await writer.whenAcked('long')
    // Stored while that compaction runs, after what it read: long enough for one of their own.
    type(60)
    await writer.whenAcked('long')
    expect(await store.inner.load('long')).toHaveLength(61)
    stall.release()
    await eventually(async () => (await store.inner.load('long')).length === 1, 'a second compaction')
    const copy = new Y.Doc()
    for (const update of await store.inner.load('long')) Y.applyUpdate(copy, update)
    expect(text(copy)).toBe('x'.repeat(80))
  })

  it('compacts alone without reading the log back: its merged state replaces the log (compactTo)', async () => {
    const calls = { compact: 0, compactTo: 0 }
    class CountingStore extends MemoryDocStore {
      override compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
        calls.compact++
        return super.compact(doc, merge)
      }
      override compactTo(doc: string, state: Uint8Array): Promise<number> {
        calls.compactTo++
        return super.compactTo(doc, state)
      }
    }
    relay = await startRelay({ store: new CountingStore(), compactAfterUpdates: 20 })
    const writer = await connect()
    const { doc } = writer.open('long')
    await writer.whenSynced('long')
    for (let i = 0; i < 300; i++) doc.getText('t').insert(i, String(i % 10))
    await writer.whenAcked('long')
    await waitFor(() => calls.compactTo > 0, 'a compaction')
    expect(calls.compact).toBe(0)
    const stored = new Y.Doc()
    for (const update of await relay.store.load('long')) Y.applyUpdate(stored, update)
    expect(text(stored)).toBe(text(doc))
  })

  it('acknowledges frames that store nothing (an empty update, a step 1) once everything before them is', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store })
    const client = await connect()
    const entry = client.open('empty')
    await client.whenSynced('empty')
    await client.whenAcked('empty')
    store.hold()
    entry.doc.getText('t').insert(0, 'stored first')
    const emptyUpdate = new Uint8Array([0, 0])
    client.send({ type: 'sync', doc: 'empty', seq: ++entry.sentSeq, sync: { type: 'update', update: emptyUpdate } })
    const stateVector = Y.encodeStateVector(entry.doc)
    client.send({ type: 'sync', doc: 'empty', seq: ++entry.sentSeq, sync: { type: 'step1', stateVector } })
    await waitFor(() => client.received.filter((frame) => frame.type === 'sync').length >= 3, 'the step 2 answer')
    expect(entry.ackedSeq).toBe(entry.sentSeq - 3)
    store.release()
    await client.whenAcked('empty')
    expect(await storedText('empty')).toBe('stored first')
    // Only the insert: the empty updates (this one, and the opening step 2 of an empty client) store nothing.
    expect(await store.load('empty')).toHaveLength(1)
  })

  it('acknowledges a resent update without storing or forwarding it again, and refuses a forgery of what it holds', async () => {
    relay = await startRelay()
    const [alice, bob, mallory] = [await connect(), await connect(), await connect()]
    const a = alice.open('repeats')
    bob.open('repeats')
    const m = mallory.open('repeats')
    await Promise.all([alice, bob, mallory].map((client) => client.whenSynced('repeats')))
    const sent: Uint8Array[] = []
    a.doc.on('update', (update: Uint8Array) => sent.push(update))
    a.doc.getText('t').insert(0, 'once')
    await alice.whenAcked('repeats')
    const updatesAt = (client: NativeTestClient) =>
      client.received.filter((frame) => frame.type === 'sync' && frame.sync.type === 'update').length
    await waitFor(() => updatesAt(bob) === 1, 'the update at bob')

    alice.send({ type: 'sync', doc: 'repeats', seq: ++a.sentSeq, sync: { type: 'update', update: sent[0]! } })
    await alice.whenAcked('repeats')
    expect(updatesAt(bob)).toBe(1)
    expect(await relay.store.load('repeats')).toHaveLength(1)

    // Mallory sends the second update of a client first, then a whole state whose content past
    // the gap differs: replicas that got one or the other would differ.
    const typing = (words: string[]) => {
      const doc = new Y.Doc()
      doc.clientID = 4242
      const updates: Uint8Array[] = []
      doc.on('update', (update: Uint8Array) => updates.push(update))
      for (const word of words) doc.getText('t').insert(doc.getText('t').length, word)
      return { updates, state: Y.encodeStateAsUpdate(doc) }
    }
    const pastGap = typing(['abcde', 'fgh']).updates[1]!
    const forged = typing(['abcde', 'xyz']).state
    mallory.send({ type: 'sync', doc: 'repeats', seq: ++m.sentSeq, sync: { type: 'update', update: pastGap } })
    mallory.send({ type: 'sync', doc: 'repeats', seq: ++m.sentSeq, sync: { type: 'update', update: forged } })
    // Refused on its own, never acknowledged; Mallory's document stays open.
    await waitFor(() => m.refused.has(m.sentSeq), 'the forgery to be refused')
    expect(m.refused.get(m.sentSeq)).toMatchObject({ code: closeCodes.invalidUpdate })
    await mallory.whenAnswered('repeats')
    expect(m.ackedSeq).toBe(m.sentSeq - 1)
    expect(mallory.closeEvent).toBeUndefined()
    expect(updatesAt(bob)).toBe(2)

    a.doc.getText('t').insert(4, ' more')
    await alice.whenAcked('repeats')
    await waitFor(() => updatesAt(bob) === 3, 'the next update at bob')
    expect(await storedText('repeats')).toBe('once more')
  })

  it('refuses a document it cannot load, rather than serving a blank', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store, unloadAfterMs: 20 })
    const seed = await connect()
    seed.open('precious').doc.getText('t').insert(0, 'do not lose me')
    await seed.whenAcked('precious')
    seed.close()
    await waitFor(() => relay!.relay.stats().documents === 0, 'the document to unload')
    store.failLoads = true
    const client = await connect()
    const refused = client.open('precious')
    await waitFor(() => refused.error !== undefined, 'the error frame')
    expect(refused.error?.code).toBe(closeCodes.documentUnavailable)
    expect(refused.synced).toBe(false)
    expect(client.received.filter((frame) => frame.type === 'sync')).toEqual([])
    // Nothing was overwritten, and the same connection can open the document once the store recovers.
    store.failLoads = false
    client.send({ type: 'close', doc: 'precious' })
    const again = client.open('precious')
    await client.whenSynced('precious')
    expect(text(again.doc)).toBe('do not lose me')
  })

  it('refuses the document and never acknowledges when the store cannot append', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store })
    const client = await connect()
    const entry = client.open('doomed')
    await client.whenSynced('doomed')
    // The client's own sync step 2 is a frame too: its ack may come after the sync.
    await client.whenAcked('doomed')
    const acked = entry.ackedSeq
    store.failAppends = true
    entry.doc.getText('t').insert(0, 'lost to a broken disk')
    await waitFor(() => entry.error !== undefined, 'the error frame')
    expect(entry.error?.code).toBe(closeCodes.documentUnavailable)
    expect(entry.ackedSeq).toBe(acked)
    expect(relay.relay.stats().documents).toBe(0)
  })

  it('unloads a document after its last peer left, but never while a write is pending', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store, unloadAfterMs: 30 })
    const client = await connect()
    const { doc } = client.open('idle')
    await client.whenSynced('idle')
    store.hold()
    doc.getText('t').insert(0, 'in flight')
    await waitFor(() => store.heldAppends === 1, 'the append to reach the store')
    client.close()
    await waitFor(() => relay!.relay.stats().connections === 0, 'the connection to close')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(relay.relay.stats().documents).toBe(1)
    store.release()
    await waitFor(() => relay!.relay.stats().documents === 0, 'the document to unload')
    expect(await storedText('idle')).toBe('in flight')
  })

  it('flushes pending writes on close and tells clients it is going away', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store })
    const client = await connect()
    const { doc } = client.open('closing')
    await client.whenSynced('closing')
    store.hold()
    doc.getText('t').insert(0, 'flushed at shutdown')
    await waitFor(() => store.heldAppends === 1, 'the append to reach the store')
    let closed = false
    const closing = relay.relay.close().then(() => (closed = true))
    expect((await client.whenClosed()).code).toBe(closeCodes.goingAway)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(closed).toBe(false)
    store.release()
    await closing
    expect(await storedText('closing')).toBe('flushed at shutdown')
  })
})
