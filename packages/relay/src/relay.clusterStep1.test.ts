/**
 * A sync step 1 that reaches a cluster relay while its read-back checks run
 * is answered once they are done, with what the room held when the step 1
 * came: never with an update admitted while the answer waited, whose own
 * check may not be done. Here that update is a victim's edit under clocks a
 * squatter on relay A stored first (B never hears of it: each relay has a
 * Redis of its own); the log sets it aside, and a reader that got it could
 * never give it back.
 */
import { encodeAwarenessUpdate } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { useClusterRelays } from './test/clusterRelays.js'
import { FaultInjectingDocStore } from './test/faultInjectingDocStore.js'
import { editAs } from './test/forgedEdit.js'
import type { NativeTestClient } from './test/nativeTestClient.js'
import { waitFor } from './test/relayHarness.js'
import { useClusterServers } from './test/clusterServers.js'

const { postgres, redis } = useClusterServers({ redis: 2 })

const { startClusterRelay, connect } = useClusterRelays(() => postgres().url)

/** Long enough for a loaded machine. */
const clusterTimeoutMs = 10_000

const textOf = (client: NativeTestClient, doc: string): string => client.documents.get(doc)!.doc.getText('t').toString()

/** Every string the relay sent `client` in sync frames for `doc`. */
const receivedText = (client: NativeTestClient, doc: string): string[] =>
  client.received.flatMap((frame) =>
    frame.type === 'sync' && frame.doc === doc && frame.sync.type !== 'step1'
      ? Y.decodeUpdate(frame.sync.update).structs.flatMap((struct) =>
          struct instanceof Y.Item && struct.content instanceof Y.ContentString ? [struct.content.str] : [],
        )
      : [],
  )

describe('a step 1 on a cluster relay while read-back checks run', () => {
  it('is answered with what the room held when it came, never with an update whose check has not finished', async () => {
    const a = await startClusterRelay(redis(0).url)
    let storeOfB: FaultInjectingDocStore | undefined
    const b = await startClusterRelay(
      redis(1).url,
      {},
      { wrapStore: (store) => (storeOfB = new FaultInjectingDocStore(store)) },
    )
    const doc = `step1-while-checking-${Date.now()}`

    // The victim writes "hello" through B.
    const victim = await connect(b)
    const v = victim.open(doc)
    await victim.whenSynced(doc)
    v.doc.getText('t').insert(0, 'hello')
    await victim.whenAcked(doc)
    const victimId = v.doc.clientID
    const victimState = Y.encodeStateAsUpdate(v.doc)

    // A squatter on A writes " evil" under the victim's next clocks.
    const squatter = await connect(a)
    const s = squatter.open(doc)
    await waitFor(() => textOf(squatter, doc) === 'hello', 'the content on A', clusterTimeoutMs)
    const squat = editAs(Y.encodeStateAsUpdate(s.doc), victimId, (forged) => forged.getText('t').insert(5, ' evil'))
    squatter.send({ type: 'sync', doc, seq: ++s.sentSeq, sync: { type: 'update', update: squat } })
    await squatter.whenAcked(doc)

    // A writer's honest edit on B: its check must read the log (B has not heard of the squat); held.
    const firstRead = storeOfB!.stall('load', { doc, times: 1 })
    const writer = await connect(b)
    const w = writer.open(doc)
    await writer.whenSynced(doc)
    w.doc.getText('t').insert(5, '!')
    await waitFor(() => firstRead.waiting === 1, "B's read-back of the writer's edit", clusterTimeoutMs)

    // A reader's step 1 comes now (its presence, sent after it, tells when B has it), and then the
    // victim's own edit under the squatted clocks, whose check waits on a read held in turn.
    const secondRead = storeOfB!.stall('load', { doc })
    const reader = await connect(b)
    const r = reader.open(doc)
    reader.send({
      type: 'awareness',
      doc,
      update: encodeAwarenessUpdate([{ clientId: r.doc.clientID, clock: 1, state: '{"n":"reader"}' }]),
    })
    await waitFor(
      () => victim.received.some((frame) => frame.type === 'awareness' && frame.doc === doc),
      "the reader's presence, relayed by B",
      clusterTimeoutMs,
    )
    const real = editAs(victimState, victimId, (own) => own.getText('t').insert(5, ' world'))
    const appends = storeOfB!.calls.append
    const seq = ++v.sentSeq
    victim.send({ type: 'sync', doc, seq, sync: { type: 'update', update: real } })
    await waitFor(() => storeOfB!.calls.append > appends, "B to store the victim's edit", clusterTimeoutMs)

    // The writer's edit is checked: the reader is answered, without the victim's edit.
    firstRead.release()
    await waitFor(() => r.synced, "the answer to the reader's step 1", clusterTimeoutMs)
    expect(textOf(reader, doc)).toBe('hello!')
    await waitFor(() => secondRead.waiting === 1, "B's read-back of the victim's edit", clusterTimeoutMs)

    // The victim's edit is checked: refused, and never sent to the reader.
    secondRead.release()
    await waitFor(() => v.refused.has(seq), "the refusal of the victim's edit", clusterTimeoutMs)
    expect(receivedText(reader, doc).join('')).not.toContain('world')
    expect(textOf(reader, doc)).not.toContain('world')
  })
})
