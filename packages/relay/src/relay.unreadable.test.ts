/**
 * What a relay acknowledges must stay readable: an update whose structs
 * could never be integrated (they need clocks the relay refused, or wait on
 * each other across updates) is refused, never acknowledged, also after a
 * relay restart on the same SQLite file. Tried with raw concord.v2 frames
 * against a real relay.
 */
import { closeCodes } from '@concord/protocol'
import * as encoding from 'lib0/encoding'
import { rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { NativeTestClient, type TestDocument } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

const running: TestRelay[] = []
const clients: NativeTestClient[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  for (const relay of running.splice(0)) await relay.close()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const start = async (dataDir: string): Promise<TestRelay> => {
  const relay = await startRelay({ dataDir })
  running.push(relay)
  return relay
}

const stop = async (relay: TestRelay): Promise<void> => {
  running.splice(running.indexOf(relay), 1)
  await relay.close()
}

const connect = async (relay: TestRelay, doc: string): Promise<{ client: NativeTestClient; entry: TestDocument }> => {
  const client = await NativeTestClient.connect(relay.url)
  clients.push(client)
  const entry = client.open(doc)
  await client.whenSynced(doc)
  return { client, entry }
}

/** Sends `update` as the next sync frame and resolves with its answer: `ack` or `refused <code>`. */
const answer = async (
  { client, entry }: { client: NativeTestClient; entry: TestDocument },
  doc: string,
  update: Uint8Array,
  type: 'update' | 'step2' = 'update',
): Promise<string> => {
  const seq = ++entry.sentSeq
  client.send({ type: 'sync', doc, seq, sync: { type, update } })
  await waitFor(() => entry.ackedSeq >= seq || entry.refused.has(seq), `an answer to frame ${seq}`)
  const refused = entry.refused.get(seq)
  return refused ? `refused ${refused.code}` : 'ack'
}

/** The stored log as a fresh reader gets it: its text, and whether some of it waits for clocks nobody has. */
const read = async (relay: TestRelay, doc: string) => {
  const reader = new Y.Doc()
  for (const update of await relay.store.load(doc)) Y.applyUpdate(reader, update)
  return { text: reader.getText('t').toString(), waiting: reader.store.pendingStructs !== null }
}

/** The updates `doc` emits while `edit` runs, in order. */
const updatesOf = (doc: Y.Doc, edit: () => void): Uint8Array[] => {
  const updates: Uint8Array[] = []
  const keep = (update: Uint8Array) => updates.push(update)
  doc.on('update', keep)
  edit()
  doc.off('update', keep)
  return updates
}

describe('a squat victim and its other tab, across a relay restart', () => {
  it('refuses what builds on the clocks a refused frame carried, for every client in it, before and after a restart', async () => {
    const dataDir = await makeTempDir()
    dirs.push(dataDir)
    let relay = await start(dataDir)

    // The victim (client 1000) typed "hello"; the relay holds it.
    const victim = new Y.Doc()
    victim.clientID = 1000
    const tabA = await connect(relay, 'shared')
    const hello = updatesOf(victim, () => victim.getText('t').insert(0, 'hello'))
    expect(await answer(tabA, 'shared', hello[0]!)).toBe('ack')

    // A squatter writes " evil" under the victim's next clocks (5 to 9), learnt from the state vector.
    const squatter = await connect(relay, 'shared')
    const forged = new Y.Doc()
    Y.applyUpdate(forged, Y.encodeStateAsUpdate(squatter.entry.doc))
    forged.clientID = 1000
    const evil = updatesOf(forged, () => forged.getText('t').insert(5, ' evil'))
    expect(await answer(squatter, 'shared', evil[0]!)).toBe('ack')

    // Offline meanwhile, the victim typed " world" (clocks 5 to 10), and its other tab, which shares
    // its edits through the device (client 2000), typed "!" after it.
    victim.getText('t').insert(5, ' world')
    const otherTab = new Y.Doc()
    otherTab.clientID = 2000
    Y.applyUpdate(otherTab, Y.encodeStateAsUpdate(victim))
    Y.applyUpdate(victim, Y.encodeStateAsUpdate(otherTab))
    updatesOf(otherTab, () => otherTab.getText('t').insert(11, '!'))
    Y.applyUpdate(victim, Y.encodeStateAsUpdate(otherTab))

    // Back online, the victim's step 2 carries every pending edit whole, the tab's too: refused.
    const pending = Y.encodeStateAsUpdate(victim, Y.encodeStateVector(new Map([[1000, 5]])))
    expect(await answer(tabA, 'shared', pending, 'step2')).toBe(`refused ${closeCodes.invalidUpdate}`)
    // The other tab types on: its edit starts past the clock the relay refused with that step 2.
    const tabB = await connect(relay, 'shared')
    const more = updatesOf(otherTab, () => otherTab.getText('t').insert(12, '?'))
    expect(await answer(tabB, 'shared', more[0]!)).toBe(`refused ${closeCodes.invalidUpdate}`)

    // The relay restarts (SIGKILL or not, it forgets what it refused). The victim's tabs open the
    // document again: each step 2 carries the pending edits whole, and is refused again.
    for (const client of clients.splice(0)) client.close()
    await stop(relay)
    relay = await start(dataDir)
    const againA = await connect(relay, 'shared')
    const stillPending = Y.encodeStateAsUpdate(victim, Y.encodeStateVector(new Map([[1000, 5]])))
    expect(await answer(againA, 'shared', stillPending, 'step2')).toBe(`refused ${closeCodes.invalidUpdate}`)
    const againB = await connect(relay, 'shared')
    const after = updatesOf(otherTab, () => otherTab.getText('t').insert(13, '#'))
    expect(await answer(againB, 'shared', after[0]!)).toBe(`refused ${closeCodes.invalidUpdate}`)

    // Everything the relay acknowledged is readable by a fresh reader, and nothing it stored waits.
    expect(await read(relay, 'shared')).toEqual({ text: 'hello evil', waiting: false })
    // Someone else's edit is still acknowledged.
    const bystander = new Y.Doc()
    bystander.clientID = 3000
    Y.applyUpdate(bystander, Y.encodeStateAsUpdate(againB.entry.doc))
    const typed = updatesOf(bystander, () => bystander.getText('t').insert(0, '> '))
    expect(await answer(againB, 'shared', typed[0]!)).toBe('ack')
    expect(await read(relay, 'shared')).toEqual({ text: '> hello evil', waiting: false })
  })
})

/** One update of one item: `text` by `client` at clock 0, after `origin`, or at the start of text `t`. */
const item = (client: number, text: string, origin?: readonly [number, number]): Uint8Array => {
  const encoder = encoding.createEncoder()
  for (const each of [1, 1, client, 0]) encoding.writeVarUint(encoder, each)
  if (origin) {
    encoding.writeUint8(encoder, 4 | 0x80) // ContentString, with a left origin
    encoding.writeVarUint(encoder, origin[0])
    encoding.writeVarUint(encoder, origin[1])
  } else {
    encoding.writeUint8(encoder, 4) // ContentString, placed by its parent: root type `t`
    encoding.writeVarUint(encoder, 1)
    encoding.writeVarString(encoder, 't')
  }
  encoding.writeVarString(encoder, text)
  encoding.writeVarUint(encoder, 0) // empty delete set
  return encoding.toUint8Array(encoder)
}

describe('items of different updates that wait on each other', () => {
  it('refuses (4422) the update that would close the circle, and keeps the first for what may still come', async () => {
    const dataDir = await makeTempDir()
    dirs.push(dataDir)
    const relay = await start(dataDir)
    const writer = await connect(relay, 'circle')
    // "b" after 6:0, which nobody has sent yet: it may still come, so the relay keeps this.
    expect(await answer(writer, 'circle', item(5, 'b', [6, 0]))).toBe('ack')
    // 6:0 placed after "b": each would wait on the other in every copy, for good.
    expect(await answer(writer, 'circle', item(6, 'a', [5, 0]))).toBe(`refused ${closeCodes.invalidUpdate}`)
    expect(writer.client.closeEvent).toBeUndefined()
    // 6:0 placed otherwise is welcome, and "b" can be read at last.
    expect(await answer(writer, 'circle', item(6, 'a'))).toBe('ack')
    expect(await read(relay, 'circle')).toEqual({ text: 'ab', waiting: false })
  })

  it('refuses an update that builds on stored items that wait on each other for good', async () => {
    const dataDir = await makeTempDir()
    dirs.push(dataDir)
    const relay = await start(dataDir)
    // Stored before admission looked across updates.
    await relay.store.append('old', item(5, 'b', [6, 0]))
    await relay.store.append('old', item(6, 'a', [5, 0]))
    const writer = await connect(relay, 'old')
    expect(await answer(writer, 'old', item(7, 'c', [5, 0]))).toBe(`refused ${closeCodes.invalidUpdate}`)
    expect(await answer(writer, 'old', item(8, 'still writable'))).toBe('ack')
    expect((await read(relay, 'old')).text).toBe('still writable')
  })
})
