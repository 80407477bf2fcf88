/**
 * A read-only connection upgraded in-band (an `auth` frame with a write
 * token). What it wrote while read-only was dropped (4403, never stored);
 * its client keeps those edits pending. The relay then asks it for what it
 * lacks (a sync step 1), and refuses (4403, never acknowledged) an update
 * that builds on the dropped edits before they arrive: stored alone, it
 * would wait for them in every copy, unreadable.
 */
import { closeCodes, type NativeFrame } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { Authenticate } from './auth.js'
import { waitFor } from './test/relayHarness.js'
import { testRelays } from './test/testRelays.js'

const { start, connect } = testRelays()

const byToken: Authenticate = (_request, _doc, token) => ({ access: token === 'write' ? 'write' : 'read' })

const stepOnes = (received: readonly NativeFrame[]): number =>
  received.filter((frame) => frame.type === 'sync' && frame.sync.type === 'step1').length

describe('a read-only connection upgraded in-band', () => {
  it('asks for the edits it dropped, refuses what builds on them until they come, and stores all of it readable', async () => {
    const relay = await start({ authenticate: byToken })
    const client = await connect(relay, 'read')
    const entry = client.open('doc')
    await client.whenSynced('doc')
    const greetings = stepOnes(client.received)

    // The app's own doc, sent by hand: what the relay asks for is answered from it.
    const mine = new Y.Doc()
    const updates: Uint8Array[] = []
    mine.on('update', (update: Uint8Array) => updates.push(update))
    const sendUpdate = (update: Uint8Array): number => {
      const seq = ++entry.sentSeq
      client.send({ type: 'sync', doc: 'doc', seq, sync: { type: 'update', update } })
      return seq
    }
    mine.getText('t').insert(0, 'abc')
    const dropped = sendUpdate(updates.at(-1)!)
    await waitFor(() => entry.refused.has(dropped), 'the read-only refusal')
    expect(entry.refused.get(dropped)).toMatchObject({ code: closeCodes.forbidden })

    // A write token: the relay asks for what the client has that it lacks.
    client.send({ type: 'auth', doc: '', token: 'write' })
    await waitFor(() => stepOnes(client.received) > greetings, "the relay's sync step 1")

    // An edit after "abc", which the relay does not hold, before the step 2 that carries it.
    mine.getText('t').insert(3, 'd')
    const builds = sendUpdate(updates.at(-1)!)
    await waitFor(() => entry.refused.has(builds) || entry.ackedSeq >= builds, 'an answer to the edit')
    expect(entry.refused.get(builds)).toMatchObject({ code: closeCodes.forbidden })
    expect(entry.ackedSeq).toBeLessThan(builds)

    // The step 2 brings everything: acknowledged, and readable by everyone.
    const seq = ++entry.sentSeq
    client.send({ type: 'sync', doc: 'doc', seq, sync: { type: 'step2', update: Y.encodeStateAsUpdate(mine) } })
    await waitFor(() => entry.ackedSeq >= seq, 'the ack of the step 2')
    expect(entry.refused.has(seq)).toBe(false)
    const reader = await connect(relay, 'read')
    const r = reader.open('doc')
    await reader.whenSynced('doc')
    expect(r.doc.getText('t').toString()).toBe('abcd')
  })
})
