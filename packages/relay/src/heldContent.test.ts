import * as Y14 from '@y/y'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { heldContent } from './heldContent.js'

const docWith = (clientID: number, text: string): Y.Doc => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  doc.getText('t').insert(0, text)
  return doc
}

describe('heldContent', () => {
  it('names the clocks below both state vectors, per client, as a stock provider reads content ids', () => {
    const relay = new Y.Doc()
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(docWith(1, 'abcdef')))
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(docWith(2, 'xy')))
    const peer = new Y.Doc()
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(docWith(1, 'abc')))
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(docWith(3, 'only mine')))

    const held = heldContent(Y.encodeStateVector(peer), () => Y.encodeStateVector(relay))!
    const ids = Y14.createContentIdsFromUpdate(held)
    // Client 1: the peer has 3 clocks, the relay 6; client 2: the peer has none; client 3: the relay has none.
    expect(ids.inserts.hasId(Y14.createID(1, 2))).toBe(true)
    expect(ids.inserts.hasId(Y14.createID(1, 3))).toBe(false)
    expect(ids.inserts.hasId(Y14.createID(2, 0))).toBe(false)
    expect(ids.inserts.hasId(Y14.createID(3, 0))).toBe(false)
    expect(ids.deletes.isEmpty()).toBe(true)
  })

  it('changes nothing in a replica that applies it', () => {
    const peer = docWith(7, 'hello')
    const before = Y.encodeStateAsUpdate(peer)
    const held = heldContent(Y.encodeStateVector(peer), () => Y.encodeStateVector(peer))!
    const updates: Uint8Array[] = []
    peer.on('update', (update: Uint8Array) => updates.push(update))
    Y.applyUpdate(peer, held)
    expect(updates).toEqual([])
    expect(Y.encodeStateAsUpdate(peer)).toEqual(before)
    expect(peer.getText('t').toString()).toBe('hello')
  })

  it('is undefined when the two hold nothing in common, without reading the relay for an empty peer', () => {
    expect(
      heldContent(Y.encodeStateVector(new Y.Doc()), () => {
        throw new Error('read')
      }),
    ).toBeUndefined()
    expect(
      heldContent(Y.encodeStateVector(docWith(1, 'a')), () => Y.encodeStateVector(docWith(2, 'b'))),
    ).toBeUndefined()
  })
})
