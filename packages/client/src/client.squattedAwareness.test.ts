/**
 * Presence after another writer used this client's id. Yjs gives a Y.Doc a
 * new client id when a remote update carries its own (a clock squatter, or
 * a copied store), while the document's Awareness keeps the id it was made
 * with. The client must announce and withdraw its presence under the
 * Awareness's id: under the doc's new one, y-protocols finds no state and
 * throws, which killed the app's process at the next reconnect (found by
 * the chaos harness, cluster seed 2 with --hostile: the squat's victim exited
 * with "Cannot read properties of undefined (reading 'clock')").
 */
import 'fake-indexeddb/auto'
import { NativeTestClient, waitFor } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { cleanUp, makeClient, relayOnFixedPort } from './test/clientHarness.js'

afterEach(cleanUp)

describe('presence after a squat changed the doc client id', () => {
  it('announces presence again after a reconnect, under the id its Awareness holds', async () => {
    const relay = await relayOnFixedPort()
    const victim = makeClient(relay.url).open('squatted')
    victim.awareness.setLocalStateField('user', 'victim')
    victim.doc.getText('t').insert(0, 'mine')
    await victim.whenSynced()
    const victimId = victim.doc.clientID

    // Someone writes under the victim's id, at its next clocks; the relay forwards it to the victim.
    const squatter = new Y.Doc()
    Y.applyUpdate(squatter, Y.encodeStateAsUpdate(victim.doc))
    const before = Y.encodeStateVector(squatter)
    squatter.clientID = victimId
    squatter.getText('t').insert(0, 'forged ')
    const forger = await NativeTestClient.connect(relay.url)
    const forged = forger.open('squatted')
    await forger.whenSynced('squatted')
    Y.applyUpdate(forged.doc, Y.encodeStateAsUpdate(squatter, before))
    await forger.whenAcked('squatted')
    forger.close()
    await waitFor(() => victim.doc.clientID !== victimId, 'Yjs to give the victim a new client id')
    expect(victim.awareness.clientID).toBe(victimId)

    // The connection is new: the client announces its presence again.
    await relay.stop()
    await relay.restart()
    const observer = makeClient(relay.url).open('squatted')
    await waitFor(
      () => observer.awareness.getStates().get(victimId)?.user === 'victim',
      "the victim's presence at the observer",
    )

    // Closing withdraws it, under the same id.
    await victim.close()
    await waitFor(() => !observer.awareness.getStates().has(victimId), "the victim's presence gone")
  })
})
