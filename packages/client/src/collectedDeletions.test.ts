import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { mayHoldCollected, withCollectedDeleted } from './collectedDeletions.js'

const docOf = (clientID: number): Y.Doc => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  return doc
}

const updatesOf = (doc: Y.Doc): Uint8Array[] => {
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  return updates
}

describe('withCollectedDeleted', () => {
  it('names in its delete set the GC structs Yjs made of an edit whose parent was gone', () => {
    // map.nested = { text: "f" }; tab A types into the text while replica R replaces map.nested.
    const writer = docOf(1)
    const nested = new Y.Map<unknown>()
    writer.getMap('map').set('nested', nested)
    nested.set('text', new Y.Text('f'))
    const base = Y.encodeStateAsUpdate(writer)
    const tabA = docOf(2)
    Y.applyUpdate(tabA, base)
    const edits = updatesOf(tabA)
    ;(tabA.getMap('map').get('nested') as Y.Map<Y.Text>).get('text')!.insert(1, 'wl')
    tabA.getArray('elements').push(['a1'])
    const replica = docOf(3)
    Y.applyUpdate(replica, base)
    const replacements = updatesOf(replica)
    replica.getMap('map').set('nested', 'replaced')
    // Tab B got the replacement first, then A's edit.
    const tabB = docOf(4)
    Y.applyUpdate(tabB, base)
    Y.applyUpdate(tabB, replacements[0]!)
    const copies = updatesOf(tabB)
    Y.applyUpdate(tabB, Y.mergeUpdates(edits))

    const copy = copies[0]!
    const decoded = Y.decodeUpdate(copy)
    expect(decoded.structs.filter((struct) => struct instanceof Y.GC).map((struct) => struct.id)).toEqual([
      Y.createID(2, 0),
    ])
    expect(decoded.ds.clients.size).toBe(0)
    const repaired = withCollectedDeleted(copy)
    expect(Y.decodeUpdate(repaired).ds.clients.get(2)).toEqual([expect.objectContaining({ clock: 0, len: 2 })])
    // It says what B's whole state says of those clocks, and gives every replica the same content.
    const fromState = Y.decodeUpdate(Y.encodeStateAsUpdate(tabB)).ds.clients.get(2)
    expect(fromState).toEqual([expect.objectContaining({ clock: 0, len: 2 })])
    const fresh = new Y.Doc()
    for (const update of [base, ...replacements, repaired, ...edits]) Y.applyUpdate(fresh, update)
    expect(fresh.getMap('map').toJSON()).toEqual({ nested: 'replaced' })
    expect(fresh.getArray('elements').toJSON()).toEqual(['a1'])
  })

  it('returns an update whose GC structs are deleted already, or that has none, as it is', () => {
    const doc = docOf(5)
    const updates = updatesOf(doc)
    doc.getText('t').insert(0, 'abc')
    doc.getText('t').delete(0, 1)
    for (const update of [...updates, Y.encodeStateAsUpdate(doc)]) expect(withCollectedDeleted(update)).toBe(update)
    const nested = docOf(6)
    const map = new Y.Map<unknown>()
    nested.getArray('a').push([map])
    map.set('text', new Y.Text('gone'))
    nested.getArray('a').delete(0, 1)
    // The state of a doc that collected a deleted type names its GC structs itself.
    const state = Y.encodeStateAsUpdate(nested)
    expect(Y.decodeUpdate(state).structs.some((struct) => struct instanceof Y.GC)).toBe(true)
    expect(withCollectedDeleted(state)).toBe(state)
  })

  it('is asked for what a transaction applied of other clients, never for a keystroke', () => {
    const other = docOf(8)
    other.getText('t').insert(0, 'theirs')
    const theirs = Y.encodeStateAsUpdate(other)
    const doc = docOf(9)
    const asked: boolean[] = []
    doc.on('afterTransaction', (transaction: Y.Transaction) => asked.push(mayHoldCollected(transaction)))
    doc.getText('t').insert(0, 'mine')
    Y.applyUpdate(doc, theirs)
    // An app that applies an update inside its own (local) transaction.
    const more = docOf(10)
    more.getText('t').insert(0, 'more')
    Y.transact(doc, () => Y.applyUpdate(doc, Y.encodeStateAsUpdate(more)))
    doc.getText('t').delete(0, 2)
    expect(asked).toEqual([false, true, true, false])
  })
})
