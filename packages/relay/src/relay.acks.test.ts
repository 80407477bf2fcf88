/**
 * The ack rule, tried from outside the relay with raw concord.v2 frames: an
 * ack of seq n covers every sync frame up to n except those answered with
 * `refused`, which comes first; nothing the relay did not store is ever
 * acknowledged.
 */
import {
  closeCodes,
  decodeNativeFrame,
  encodeNativeFrame,
  nativeSubprotocol,
  type NativeFrame,
  type SyncMessage,
} from '@concord/protocol'
import type { IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import type { DocStore } from './docStore.js'
import type { Logger } from './logger.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { ControlledStore } from './test/controlledStore.js'
import { editAs } from './test/forgedEdit.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const closers: Array<() => void> = []

afterEach(async () => {
  for (const close of closers.splice(0)) close()
  await relay?.close()
  relay = undefined
})

/** A memory store whose loads wait, while held, until released: the document stays loading. */
class LoadHoldingStore extends MemoryDocStore implements DocStore {
  #held: Array<() => void> | undefined
  loads = 0

  hold(): void {
    this.#held ??= []
  }

  release(): void {
    const held = this.#held ?? []
    this.#held = undefined
    for (const run of held) run()
  }

  override load(doc: string): Promise<Uint8Array[]> {
    this.loads++
    const held = this.#held
    if (!held) return super.load(doc)
    return new Promise((resolve, reject) => held.push(() => super.load(doc).then(resolve, reject)))
  }
}

/** Tokens `read` and `write` grant that on every document; the calls are counted. */
const calls: Array<string | undefined> = []
const tokenAccess: Authenticate = (_request: IncomingMessage, _doc, token) => {
  calls.push(token)
  return token === 'write' ? { access: 'write' } : { access: 'read' }
}

/** A plain socket that speaks concord.v2 frame by frame and records what the relay sends. */
const connectRaw = async () => {
  const ws = new WebSocket(relay!.url, [nativeSubprotocol])
  ws.on('error', () => {})
  closers.push(() => ws.terminate())
  const received: NativeFrame[] = []
  let closed: { code: number; reason: string } | undefined
  ws.on('message', (data) => received.push(decodeNativeFrame(data as Buffer)))
  ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }))
  await once(ws, 'open')
  const send = (frame: NativeFrame) => ws.send(encodeNativeFrame(frame))
  return {
    received,
    send,
    sync: (doc: string, seq: number, sync: SyncMessage) => send({ type: 'sync', doc, seq, sync }),
    /** The refused and ack frames, in the order they came, as short strings. */
    answers: (doc: string) =>
      received.flatMap((frame) =>
        frame.doc !== doc
          ? []
          : frame.type === 'ack'
            ? [`ack ${frame.seq}`]
            : frame.type === 'refused'
              ? [`refused ${frame.seq} ${frame.code}`]
              : [],
      ),
    closed: () => closed,
  }
}

const edit = (content: string, clientID = 1): Uint8Array => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getText('t').insert(0, content)
  return Y.encodeStateAsUpdate(doc)
}

const storedText = async (name: string) => {
  const doc = new Y.Doc()
  for (const update of await relay!.store.load(name)) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

const connectNative = async () => {
  const client = await NativeTestClient.connect(relay!.url)
  closers.push(() => client.close())
  return client
}

describe('the ack rule: an ack never covers a frame the relay did not store', () => {
  it('refuses, never acknowledges, read-only writes sent while the document loads', async () => {
    const store = new LoadHoldingStore()
    relay = await startRelay({ store, authenticate: tokenAccess })
    const reader = await connectRaw()
    reader.send({ type: 'auth', doc: '', token: 'read' })
    store.hold()
    reader.send({ type: 'open', doc: 'fresh' })
    reader.sync('fresh', 1, { type: 'update', update: edit('one') })
    reader.sync('fresh', 2, { type: 'update', update: edit('two', 2) })
    // Both frames wait for the load, which starts once the hook has answered.
    await waitFor(() => store.loads === 1, 'the load to start')
    store.release()
    await waitFor(() => reader.answers('fresh').length === 2, 'two answers')
    expect(reader.answers('fresh')).toEqual([`refused 1 ${closeCodes.forbidden}`, `refused 2 ${closeCodes.forbidden}`])
    // The document stays open: the relay's step 1 came, and the read-only notice, once.
    expect(reader.received.filter((frame) => frame.type === 'notice')).toEqual([
      expect.objectContaining({ doc: 'fresh', code: closeCodes.forbidden }),
    ])
    expect(reader.received.some((frame) => frame.type === 'error')).toBe(false)
    expect(await relay.store.load('fresh')).toEqual([])
  })

  it('answers dropped frames with refused before an ack of a later frame, and acks what is stored after an upgrade', async () => {
    relay = await startRelay({ authenticate: tokenAccess })
    const client = await connectRaw()
    client.send({ type: 'auth', doc: '', token: 'read' })
    client.send({ type: 'open', doc: 'doc' })
    await waitFor(() => client.received.some((frame) => frame.type === 'sync'), "the relay's step 1")
    client.sync('doc', 1, { type: 'update', update: edit('dropped one') })
    client.sync('doc', 2, { type: 'update', update: edit('dropped two', 2) })
    client.sync('doc', 3, { type: 'step1', stateVector: Y.encodeStateVector(new Y.Doc()) })
    await waitFor(() => client.answers('doc').length === 3, 'three answers')
    expect(client.answers('doc')).toEqual([
      `refused 1 ${closeCodes.forbidden}`,
      `refused 2 ${closeCodes.forbidden}`,
      'ack 3',
    ])
    expect(await relay.store.load('doc')).toEqual([])

    // Write access, in band: the next update is stored and acknowledged.
    calls.length = 0
    client.send({ type: 'auth', doc: '', token: 'write' })
    await waitFor(() => calls.includes('write'), 'the new token to be checked')
    client.sync('doc', 4, { type: 'update', update: edit('kept', 3) })
    await waitFor(() => client.answers('doc').length === 4, 'the fourth answer')
    expect(client.answers('doc').at(-1)).toBe('ack 4')
    expect(await storedText('doc')).toBe('kept')
  })

  it('holds a refused frame behind an earlier frame the store has not committed, and never acks past it unanswered', async () => {
    const store = new ControlledStore()
    relay = await startRelay({ store })
    const client = await connectRaw()
    client.send({ type: 'open', doc: 'held' })
    await waitFor(() => client.received.some((frame) => frame.type === 'sync'), "the relay's step 1")
    store.hold()
    client.sync('held', 1, { type: 'update', update: edit('first', 1) })
    client.sync('held', 2, { type: 'update', update: Uint8Array.of(1, 1, 5, 0, 4, 1, 1, 0x74, 0, 0) })
    client.sync('held', 3, { type: 'update', update: edit('third', 3) })
    await waitFor(() => store.heldAppends === 2, 'two appends to reach the store')
    // Frame 2 is refused already, but its answer waits for frame 1's: an answer in seq order.
    expect(client.answers('held')).toEqual([])
    store.release()
    await waitFor(() => client.answers('held').at(-1) === 'ack 3', 'the ack of 3')
    const answers = client.answers('held')
    expect(answers[0]).toBe(`refused 2 ${closeCodes.invalidUpdate}`)
    expect(answers.filter((answer) => answer.startsWith('refused'))).toHaveLength(1)
  })

  it('keeps telling a stock read-only provider "permission denied" while the document loads, and stores nothing', async () => {
    const store = new LoadHoldingStore()
    relay = await startRelay({ store, authenticate: tokenAccess })
    store.hold()
    const doc = new Y.Doc()
    doc.getText('t').insert(0, 'offline edit')
    const provider = new WebsocketProvider(relay.url, 'loading', doc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: 'read' },
    })
    closers.push(() => provider.destroy())
    const denied: string[] = []
    provider.on('status', () => {})
    await waitFor(() => provider.wsconnected, 'the provider to connect')
    provider.ws!.addEventListener('message', (event: { data: unknown }) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer)
      // y-protocols' auth message: type 2, then "permission denied" (0) and the reason.
      if (bytes[0] === 2 && bytes[1] === 0) denied.push('denied')
    })
    doc.getText('t').insert(0, 'more ')
    await waitFor(() => store.loads === 1, 'the load to start')
    store.release()
    await waitFor(() => denied.length === 1, 'the permission-denied message')
    await waitFor(() => provider.synced, 'the provider to sync')
    expect(await relay.store.load('loading')).toEqual([])
  })
})

/**
 * A victim that typed "hello" (clocks 0 to 4 of its client), and a squatter that then wrote " evil"
 * under the victim's client id at its next clocks (5 to 9), learnt from the relay's state vector.
 */
const squattedVictim = async () => {
  const victim = await connectNative()
  const v = victim.open('shared')
  await victim.whenSynced('shared')
  v.doc.getText('t').insert(0, 'hello')
  await victim.whenAcked('shared')
  const victimState = Y.encodeStateAsUpdate(v.doc)
  const victimId = v.doc.clientID

  const squatter = await connectNative()
  const s = squatter.open('shared')
  await squatter.whenSynced('shared')
  const nextClock = Y.decodeStateVector(Y.encodeStateVector(s.doc)).get(victimId)
  const squat = editAs(Y.encodeStateAsUpdate(s.doc), victimId, (forged) => forged.getText('t').insert(5, ' evil'))
  squatter.send({ type: 'sync', doc: 'shared', seq: ++s.sentSeq, sync: { type: 'update', update: squat } })
  await squatter.whenAcked('shared')

  /** A doc with the victim's own state and client id, as its app holds it: its edits use the squatted clocks. */
  const own = new Y.Doc()
  Y.applyUpdate(own, victimState)
  // Set after the update: a Y.Doc that receives its own client's structs picks a new client id.
  own.clientID = victimId
  return { victim, v, own, nextClock }
}

describe('clock squatting: a repeat must say what the relay holds', () => {
  it("refuses the victim's real edit under clocks a squatter wrote first, and never acknowledges it", async () => {
    const warnings: Array<Record<string, unknown>> = []
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (fields, message) => message === 'refused a sync frame' && warnings.push(fields as Record<string, unknown>),
      error() {},
    }
    relay = await startRelay({ logger })
    // The squatter learns the victim's next clock from the relay's state and writes there first.
    const { victim, v, own, nextClock } = await squattedVictim()
    expect(nextClock).toBe(5)

    // The victim's own edit crossed it on the wire: same clocks, other content.
    const real: Uint8Array[] = []
    own.on('update', (update: Uint8Array) => real.push(update))
    own.getText('t').insert(5, ' world')
    const seq = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq, sync: { type: 'update', update: real[0]! } })
    await waitFor(() => v.refused.has(seq), "the victim's edit to be refused")
    expect(v.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })
    expect(v.ackedSeq).toBeLessThan(seq)
    expect(victim.closeEvent).toBeUndefined()
    expect(warnings).toEqual([expect.objectContaining({ doc: 'shared', seq, code: closeCodes.invalidUpdate })])
    expect(warnings[0]).toHaveProperty('conn')

    // The document stays open for the victim, and a fresh reader sees the squatter's content only.
    v.doc.getText('t').insert(0, '> ')
    await victim.whenAnswered('shared')
    expect(v.ackedSeq).toBe(v.sentSeq)
    const reader = await connectNative()
    const r = reader.open('shared')
    await reader.whenSynced('shared')
    expect(r.doc.getText('t').toString()).toBe('> hello evil')
    expect(await storedText('shared')).toBe('> hello evil')
  })
})

describe('clock squatting: what the refused victim writes next', () => {
  it('refuses, never acknowledges, the edits the victim goes on to make past its refused clocks', async () => {
    relay = await startRelay()
    // A squatter wrote 5 clocks under the victim's id; the victim's own 6 are refused.
    const { victim, v, own } = await squattedVictim()
    const mine: Uint8Array[] = []
    own.on('update', (update: Uint8Array) => mine.push(update))
    own.getText('t').insert(5, ' world')
    own.getText('t').insert(11, ', again')
    const first = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq: first, sync: { type: 'update', update: mine[0]! } })
    await waitFor(() => v.refused.has(first), 'the refusal of the clocks the squatter took')

    // The victim's next edit starts past the 5 clocks the relay holds of it: stored, no one could read it.
    const next = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq: next, sync: { type: 'update', update: mine[1]! } })
    await waitFor(() => v.refused.has(next), 'the refusal of the edit built on them')
    expect(v.refused.get(next)).toMatchObject({ code: closeCodes.invalidUpdate })
    // Yjs gives a doc a new client id once another writes under its own: what it types then, under the
    // new id, is placed after its refused text, which the relay does not hold either.
    const renamed = new Y.Doc()
    Y.applyUpdate(renamed, Y.encodeStateAsUpdate(own))
    const after: Uint8Array[] = []
    renamed.on('update', (update: Uint8Array) => after.push(update))
    renamed.getText('t').insert(11, '!')
    const third = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq: third, sync: { type: 'update', update: after[0]! } })
    await waitFor(() => v.refused.has(third), 'the refusal of the edit placed after them')
    expect(v.ackedSeq).toBeLessThan(first)
    // What the relay stores stays readable by everyone.
    const reader = await connectNative()
    const r = reader.open('shared')
    await reader.whenSynced('shared')
    expect(r.doc.getText('t').toString()).toBe('hello evil')
    expect(await storedText('shared')).toBe('hello evil')
  })
})

describe('clock squatting: what the victim places next to its refused edit', () => {
  it('refuses, never acknowledges, an edit under a new client id placed after its refused text, where the squatter wrote', async () => {
    relay = await startRelay()
    // A squatter wrote " evil" at clocks 5 to 9 of the victim's id; the victim's own " world" there is refused.
    const { victim, v, own } = await squattedVictim()
    const mine: Uint8Array[] = []
    own.on('update', (update: Uint8Array) => mine.push(update))
    own.getText('t').insert(5, ' world')
    const first = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq: first, sync: { type: 'update', update: mine[0]! } })
    await waitFor(() => v.refused.has(first), 'the refusal of the clocks the squatter took')

    // Under a new client id, the victim types after the "w" of its " world" (clock 6 of its old id): the
    // relay holds that id, but with the squatter's "e". Stored, the edit would follow the squatter's text.
    const renamed = new Y.Doc()
    Y.applyUpdate(renamed, Y.encodeStateAsUpdate(own))
    const after: Uint8Array[] = []
    renamed.on('update', (update: Uint8Array) => after.push(update))
    renamed.getText('t').insert(7, 'X')
    const next = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'shared', seq: next, sync: { type: 'update', update: after[0]! } })
    await waitFor(() => v.refused.has(next) || v.ackedSeq >= next, 'an answer to the edit placed after it')
    expect(v.ackedSeq).toBeLessThan(first)
    expect(v.refused.get(next)).toMatchObject({ code: closeCodes.invalidUpdate })
    expect(await storedText('shared')).toBe('hello evil')

    // Another writer, who saw the squatter's text, may still type next to it.
    const other = await connectNative()
    const o = other.open('shared')
    await other.whenSynced('shared')
    o.doc.getText('t').insert(7, '-')
    await other.whenAcked('shared')
    expect(await storedText('shared')).toBe('hello e-vil')
  })
})

describe('updates no Yjs document could integrate', () => {
  /** Client 5 writes an empty string at the start of text `t`: a struct that takes no clock. */
  const emptyItem = Uint8Array.of(1, 1, 5, 0, 4, 1, 1, 0x74, 0, 0)
  /** Items 6:0 and 5:0 each placed after the other: every copy keeps both waiting for good. */
  const circle = Uint8Array.of(2, 1, 6, 0, 0x84, 5, 0, 1, 0x61, 1, 5, 0, 0x84, 6, 0, 1, 0x62, 0)

  it.each([
    ['a zero-length item', emptyItem],
    ['two items that wait on each other', circle],
  ])('refuses %s (4422) in native mode, keeps the document open and stores nothing of it', async (_what, update) => {
    relay = await startRelay()
    const writer = await connectRaw()
    writer.send({ type: 'open', doc: 'doc' })
    await waitFor(() => writer.received.some((frame) => frame.type === 'sync'), "the relay's step 1")
    writer.sync('doc', 1, { type: 'update', update })
    writer.sync('doc', 2, { type: 'update', update: edit('typed', 7) })
    await waitFor(() => writer.answers('doc').length === 2, 'two answers')
    expect(writer.answers('doc')).toEqual([`refused 1 ${closeCodes.invalidUpdate}`, 'ack 2'])
    expect(writer.closed()).toBeUndefined()
    const stored = await relay.store.load('doc')
    expect(stored).toHaveLength(1)
    expect(Y.decodeUpdate(stored[0]!).structs.map((struct) => struct.id.client)).toEqual([7])
    const reader = await connectNative()
    const r = reader.open('doc')
    await reader.whenSynced('doc')
    expect(r.doc.getText('t').toString()).toBe('typed')
  })

  it('closes a y-websocket connection that sends a zero-length item with 4422', async () => {
    relay = await startRelay()
    const ws = new WebSocket(`${relay.url}/doc`)
    ws.on('error', () => {})
    closers.push(() => ws.terminate())
    await once(ws, 'open')
    ws.send(Uint8Array.from([0, 2, emptyItem.length, ...emptyItem]))
    const [code] = (await once(ws, 'close')) as [number]
    expect(code).toBe(closeCodes.invalidUpdate)
    expect(await relay.store.load('doc')).toEqual([])
  })
})

describe('documents that already hold what admission now refuses', () => {
  it.each([
    ['a zero-length item stored before the check existed', [Uint8Array.of(1, 1, 5, 0, 4, 1, 1, 0x74, 0, 0)]],
    [
      'items of two updates that wait on each other (admission checks circles within one update)',
      [Uint8Array.of(1, 1, 5, 0, 0x84, 6, 0, 1, 0x62, 0), Uint8Array.of(1, 1, 6, 0, 0x84, 5, 0, 1, 0x61, 0)],
    ],
  ])('stay writable when they hold %s', async (_what, held) => {
    relay = await startRelay()
    for (const update of held) await relay.store.append('old', update)
    const writer = await connectNative()
    const w = writer.open('old')
    await writer.whenSynced('old')
    w.doc.getText('t').insert(0, 'still writable')
    await writer.whenAcked('old')
    expect(w.error).toBeUndefined()
    expect(w.refused.size).toBe(0)
  })
})
