/**
 * The clients a relay refused past the clocks it holds (contested, see
 * admitUpdate.ts) stay contested across a restart: the store keeps them
 * (DocStore.contest). Without that, what the victim of a clock squat writes
 * next, past its refused clocks, would be stored and acknowledged after a
 * restart, and could never be integrated anywhere.
 */
import { closeCodes } from '@concord/protocol'
import { rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { editAs } from './test/forgedEdit.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { makeTempDir, startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

const relays: TestRelay[] = []
const clients: NativeTestClient[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  for (const relay of relays.splice(0)) await relay.close()
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
})

const start = async (dataDir: string): Promise<TestRelay> => {
  const relay = await startRelay({ dataDir })
  relays.push(relay)
  return relay
}

const connect = async (relay: TestRelay): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay.url)
  clients.push(client)
  return client
}

describe('contested clients across a restart (SQLite)', () => {
  it('refuses, never acknowledges, what a squat victim writes past its refused clocks after the relay restarts', async () => {
    const dataDir = await makeTempDir()
    dirs.push(dataDir)
    const first = await start(dataDir)

    // The victim types "hello" (clocks 0 to 4); a squatter writes " evil" at its clocks 5 to 9.
    const victim = await connect(first)
    const v = victim.open('doc')
    await victim.whenSynced('doc')
    v.doc.getText('t').insert(0, 'hello')
    await victim.whenAcked('doc')
    const own = new Y.Doc()
    Y.applyUpdate(own, Y.encodeStateAsUpdate(v.doc))
    own.clientID = v.doc.clientID
    const squatter = await connect(first)
    const s = squatter.open('doc')
    await squatter.whenSynced('doc')
    const squat = editAs(Y.encodeStateAsUpdate(s.doc), v.doc.clientID, (forged) =>
      forged.getText('t').insert(5, ' evil'),
    )
    squatter.send({ type: 'sync', doc: 'doc', seq: ++s.sentSeq, sync: { type: 'update', update: squat } })
    await squatter.whenAcked('doc')

    // The victim's own " world" under those clocks (5 to 10) is refused.
    const mine: Uint8Array[] = []
    own.on('update', (update: Uint8Array) => mine.push(update))
    own.getText('t').insert(5, ' world')
    own.getText('t').insert(11, ', again')
    const refusedSeq = ++v.sentSeq
    victim.send({ type: 'sync', doc: 'doc', seq: refusedSeq, sync: { type: 'update', update: mine[0]! } })
    await waitFor(() => v.refused.has(refusedSeq), "the refusal of the victim's edit")

    // The relay restarts; the victim's client reconnects and sends its next edit (clocks 11 to 17).
    for (const client of clients.splice(0)) client.close()
    await relays.splice(0)[0]!.close()
    const second = await start(dataDir)
    const back = await connect(second)
    const b = back.open('doc')
    await back.whenSynced('doc')
    const seq = ++b.sentSeq
    back.send({ type: 'sync', doc: 'doc', seq, sync: { type: 'update', update: mine[1]! } })
    await waitFor(() => b.refused.has(seq) || b.ackedSeq >= seq, 'an answer to the edit')
    expect(b.refused.get(seq)).toMatchObject({ code: closeCodes.invalidUpdate })
    expect(b.ackedSeq).toBeLessThan(seq)

    // What the store holds stays what everyone can read.
    const reader = await connect(second)
    const r = reader.open('doc')
    await reader.whenSynced('doc')
    expect(r.doc.getText('t').toString()).toBe('hello evil')
  })
})
