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
import { Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { cleanUp, freshStoreName, makeClient, relayOnFixedPort, trackedWebSocket } from './test/clientHarness.js'

afterEach(cleanUp)

/** What a squatter writes under `clientId` at its next clocks, on top of everything `victim` holds. */
const forgedUpdate = (victim: Y.Doc, clientId: number): Uint8Array => {
  const squatter = new Y.Doc()
  Y.applyUpdate(squatter, Y.encodeStateAsUpdate(victim))
  const before = Y.encodeStateVector(squatter)
  squatter.clientID = clientId
  squatter.getText('t').insert(0, 'forged ')
  return Y.encodeStateAsUpdate(squatter, before)
}

/** A raw client that sends the forged update for `name` through the relay; left open for the test. */
const squatThroughRelay = async (url: string, name: string, victim: Y.Doc, clientId: number) => {
  const forger = await NativeTestClient.connect(url)
  const forged = forger.open(name)
  await forger.whenSynced(name)
  Y.applyUpdate(forged.doc, forgedUpdate(victim, clientId))
  await forger.whenAcked(name)
  return forger
}

describe('presence after a squat changed the doc client id', () => {
  it('announces presence again after a reconnect, under the id its Awareness holds', async () => {
    const relay = await relayOnFixedPort()
    const victim = makeClient(relay.url).open('squatted')
    victim.awareness.setLocalStateField('user', 'victim')
    victim.doc.getText('t').insert(0, 'mine')
    await victim.whenSynced()
    const victimId = victim.doc.clientID

    // Someone writes under the victim's id, at its next clocks; the relay forwards it to the victim.
    const forger = await squatThroughRelay(relay.url, 'squatted', victim.doc, victimId)
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

  it("keeps its own presence when the relay spoke for its Awareness's id and the connection drops", async () => {
    const relay = await relayOnFixedPort()
    const tracked = trackedWebSocket()
    const victim = makeClient(relay.url, { WebSocket: tracked.WebSocket as never }).open('spoken-for')
    victim.awareness.setLocalStateField('user', 'victim')
    victim.doc.getText('t').insert(0, 'mine')
    await victim.whenSynced()
    const victimId = victim.doc.clientID

    // A squat gives the victim's doc a new id; its Awareness keeps the old one.
    const forger = await squatThroughRelay(relay.url, 'spoken-for', victim.doc, victimId)
    await waitFor(() => victim.doc.clientID !== victimId, 'Yjs to give the victim a new client id')

    // The squatter claims the victim's presence id too: the relay holds the claim back while the
    // victim's connection owns it, and gives it the id once that connection is gone.
    const impostor = new Awareness(new Y.Doc())
    impostor.clientID = victimId
    // Past the victim's own clock for it.
    for (let i = 0; i < 8; i++) impostor.setLocalState({ user: 'impostor' })
    forger.send({ type: 'awareness', doc: 'spoken-for', update: encodeAwarenessUpdate(impostor, [victimId]) })
    impostor.destroy()
    tracked.sockets.at(-1)!.terminate()
    // The victim reconnects and hears of its own id from the relay.
    await waitFor(() => victim.awareness.getLocalState()?.user === 'impostor', 'the claim at the victim')
    await waitFor(() => victim.status === 'synced', 'the victim back')

    // That connection drops too: what came through the relay is forgotten, but this client's own state is its own.
    tracked.sockets.at(-1)!.terminate()
    await waitFor(() => victim.status !== 'synced', 'the victim offline')
    expect(victim.awareness.getLocalState()).not.toBeNull()
    forger.close()
  })

  it('withdraws its presence from the other tabs at close, under the id its Awareness holds', async () => {
    const name = freshStoreName()
    const tabA = makeClient('ws://127.0.0.1:9', { name, connect: false, shareAcrossTabs: true }).open('tabs')
    const tabB = makeClient('ws://127.0.0.1:9', { name, connect: false, shareAcrossTabs: true }).open('tabs')
    await tabA.whenLoaded()
    await tabB.whenLoaded()
    tabA.doc.getText('t').insert(0, 'mine')
    const presenceId = tabA.awareness.clientID
    tabA.awareness.setLocalStateField('user', 'a')
    await waitFor(() => tabB.awareness.getStates().get(presenceId)?.user === 'a', "tab A's presence at tab B")

    // Content under tab A's client id from elsewhere (a squat, a copied store): Yjs gives its doc a new id.
    Y.applyUpdate(tabA.doc, forgedUpdate(tabA.doc, presenceId))
    expect(tabA.doc.clientID).not.toBe(presenceId)

    await tabA.close()
    await waitFor(() => !tabB.awareness.getStates().has(presenceId), "tab A's presence gone from tab B")
  })
})
