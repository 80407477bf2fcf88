/**
 * A tab's copy of another tab's edit is the same edit to the relay (seed 79
 * of the chaos cluster). Tab B gets the relay's deletion of a nested type
 * before tab A's edit inside it (A's socket is slow to deliver, the tab
 * channel is not): Yjs integrates A's edit in B as GC structs, an update
 * that says "nothing here" under A's clocks. A sends its edit, and B stores
 * and sends its copy, as it must. Neither may be taken for other content
 * under A's clocks: no 4422, no fork, the edit in the document once.
 */
import 'fake-indexeddb/auto'
import { decodeNativeFrame } from '@concord/protocol'
import { NativeTestClient } from '@concord/relay/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket as NodeWebSocket } from 'ws'
import * as Y from 'yjs'
import { withCollectedDeleted } from './collectedDeletions.js'
import type { ConcordError } from './errors.js'
import { cleanUp, freshStoreName, makeClient, relayOnFixedPort } from './test/clientHarness.js'

afterEach(cleanUp)

/** Waits for `condition`, for at most `ms`. */
const until = async (condition: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const elements = (doc: Y.Doc): unknown[] => doc.getArray('elements').toArray()

describe('a tab copy of an edit whose parent another replica deleted', () => {
  it('is stored and sent saying what Yjs collected is deleted, and nobody forks', async () => {
    const relay = await relayOnFixedPort()
    // Tab A's sockets hold what the relay sends while `deaf`, and deliver it when told.
    let deaf = false
    const held: Array<{ readonly data: unknown; readonly deliver: () => void }> = []
    class SlowWebSocket extends NodeWebSocket {
      override emit(event: string | symbol, ...args: unknown[]): boolean {
        if (event !== 'message' || !deaf) return super.emit(event, ...args)
        held.push({ data: args[0], deliver: () => super.emit(event, ...args) })
        return true
      }
    }

    // Someone makes map.nested = { text: "f" }.
    const writer = await NativeTestClient.connect(relay.url)
    const written = writer.open('doc')
    await writer.whenSynced('doc')
    const nested = new Y.Map<unknown>()
    written.doc.getMap('map').set('nested', nested)
    nested.set('text', new Y.Text('f'))
    await writer.whenAcked('doc')

    // Two tabs of one device share its store and a tab channel; both hold the nested text.
    const name = freshStoreName()
    const tabA = makeClient(relay.url, { name, WebSocket: SlowWebSocket as never }).open('doc')
    const tabB = makeClient(relay.url, { name }).open('doc')
    await Promise.all([tabA.whenSynced(), tabB.whenSynced()])
    await until(() => tabA.doc.getMap('map').get('nested') instanceof Y.Map, 'tab A to hold the nested map')
    const errors: ConcordError[] = []
    for (const tab of [tabA, tabB]) tab.on('error', (error) => errors.push(error))
    let forks = 0
    for (const tab of [tabA, tabB]) tab.on('replaced', () => forks++)

    // Another replica replaces map.nested; B hears of it, A not yet.
    deaf = true
    written.doc.getMap('map').set('nested', 'replaced')
    await writer.whenAcked('doc')
    await until(() => tabB.doc.getMap('map').get('nested') === 'replaced', 'tab B to hear of the replacement')

    // A types into the nested text, and adds an element, in one transaction; B gets it over the tab channel.
    const copies: Uint8Array[] = []
    tabB.doc.on('update', (update: Uint8Array) => copies.push(update))
    Y.transact(tabA.doc, () => {
      ;(tabA.doc.getMap('map').get('nested') as Y.Map<Y.Text>).get('text')!.insert(1, 'wl')
      tabA.doc.getArray('elements').push(['a1'])
    })
    await until(() => elements(tabB.doc).includes('a1'), 'tab B to get the edit')
    // The form Yjs gave it in B: A's text as a GC struct that no delete set names.
    const copy = Y.decodeUpdate(copies[0]!)
    const clientA = tabA.doc.clientID
    expect(copy.structs.some((struct) => struct instanceof Y.GC && struct.id.client === clientA)).toBe(true)
    expect(copy.ds.clients.has(clientA)).toBe(false)
    expect(Y.decodeUpdate(withCollectedDeleted(copies[0]!)).ds.clients.get(clientA)).toBeDefined()

    // Both reach the relay (A's answer waits among what A has not heard); then A hears what it missed.
    const answeredToA = (): boolean =>
      held.some(({ data }) => {
        const frame = decodeNativeFrame(new Uint8Array(data as Buffer))
        return frame.type === 'refused' || (frame.type === 'ack' && frame.seq > 1)
      })
    await until(() => answeredToA() && (tabB.pending === 0 || errors.length > 0), 'the relay to answer both tabs')
    deaf = false
    for (const { deliver } of held.splice(0)) deliver()
    await Promise.all([tabA.whenSynced(), tabB.whenSynced()])
    expect(errors.map((error) => error.code)).toEqual([])
    expect(forks).toBe(0)

    const reader = await NativeTestClient.connect(relay.url)
    const fresh = reader.open('doc')
    await reader.whenSynced('doc')
    expect(elements(fresh.doc)).toEqual(['a1'])
    expect(fresh.doc.getMap('map').toJSON()).toEqual({ nested: 'replaced' })
    await until(() => elements(tabA.doc).length === 1 && elements(tabB.doc).length === 1, 'the tabs to converge')
    for (const tab of [tabA, tabB]) expect(tab.doc.getMap('map').toJSON()).toEqual({ nested: 'replaced' })
    reader.close()
    writer.close()
  })
})
