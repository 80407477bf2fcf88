import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { inspectUpdate, mergeUpdates } from './yjsUpdates.js'

type Edit = {
  replica: number
  kind: 'insert' | 'delete' | 'map' | 'array' | 'nested' | 'sync'
  at: number
  text: string
}

const edit: fc.Arbitrary<Edit> = fc.record({
  replica: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('insert', 'delete', 'map', 'array', 'nested', 'sync'),
  at: fc.nat(),
  text: fc.string({ minLength: 1, maxLength: 4 }),
})

/** Applies `edits` to three replicas that sync now and then; returns every update any of them emitted. */
const updatesOf = (edits: Edit[]): Uint8Array[] => {
  const replicas = [1, 2, 3].map((clientID) => {
    const doc = new Y.Doc()
    doc.clientID = clientID
    return doc
  })
  const emitted: Uint8Array[] = []
  for (const doc of replicas) doc.on('update', (update: Uint8Array) => emitted.push(update))
  for (const { replica, kind, at, text } of edits) {
    const doc = replicas[replica]!
    const ytext = doc.getText('t')
    switch (kind) {
      case 'insert':
        ytext.insert(at % (ytext.length + 1), text)
        break
      case 'delete':
        if (ytext.length > 0) ytext.delete(at % ytext.length, Math.min(text.length, ytext.length - (at % ytext.length)))
        break
      case 'map':
        doc.getMap('m').set(text, at)
        break
      case 'array': {
        const array = doc.getArray('a')
        array.insert(at % (array.length + 1), [text])
        break
      }
      case 'nested': {
        const item = new Y.Map<unknown>()
        item.set('title', new Y.Text(text))
        doc.getArray('items').push([item])
        break
      }
      case 'sync':
        for (const other of replicas) Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)))
        break
    }
  }
  return emitted
}

describe('inspectUpdate', () => {
  it('accepts every update real editing produces, and their merges', () => {
    fc.assert(
      fc.property(fc.array(edit, { maxLength: 60 }), (edits) => {
        const updates = updatesOf(edits)
        for (const update of updates) expect(() => inspectUpdate(update)).not.toThrow()
        if (updates.length > 0) expect(() => inspectUpdate(mergeUpdates(updates))).not.toThrow()
      }),
      { numRuns: 200 },
    )
  })

  it('accepts the first 20,000 edits of a real editing trace', () => {
    const trace = JSON.parse(
      gunzipSync(readFileSync(new URL('../../../testdata/traces/automerge-paper.json.gz', import.meta.url))).toString(),
    ) as { txns: { patches: [number, number, string][] }[] }
    const doc = new Y.Doc()
    const text = doc.getText('t')
    let checked = 0
    doc.on('update', (update: Uint8Array) => {
      inspectUpdate(update)
      checked++
    })
    for (const { patches } of trace.txns.slice(0, 20_000)) {
      doc.transact(() => {
        for (const [position, deleted, inserted] of patches) {
          if (deleted > 0) text.delete(position, deleted)
          if (inserted) text.insert(position, inserted)
        }
      })
    }
    expect(checked).toBe(20_000)
    expect(inspectUpdate(Y.encodeStateAsUpdate(doc)).empty).toBe(false)
  })

  it('tells an empty update from one with content', () => {
    expect(inspectUpdate(Y.encodeStateAsUpdate(new Y.Doc())).empty).toBe(true)
    expect(inspectUpdate(updatesOf([{ replica: 0, kind: 'insert', at: 0, text: 'x' }])[0]!).empty).toBe(false)
  })

  it('refuses bytes that do not decode, and an item that refers to a later item of its own client', () => {
    expect(() => inspectUpdate(Uint8Array.of(1, 2, 3, 250, 250, 250))).toThrow(
      expect.objectContaining({ code: 'invalidUpdate' }),
    )
    // Client 5's item at clock 0 whose parent is its own item at clock 10: decodes, then throws in any Y.Doc.
    const forward = Uint8Array.of(1, 1, 5, 0, 4, 0, 5, 10, 1, 0x78, 0)
    expect(() => Y.applyUpdate(new Y.Doc(), forward)).toThrow()
    expect(() => inspectUpdate(forward)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
  })

  it('refuses an update that lists one client twice', () => {
    // Client 5 writes "a" at clock 0, then again "b" at clock 0: a Y.Doc keeps only "b".
    const twice = Uint8Array.of(2, 1, 5, 0, 4, 1, 1, 0x74, 1, 0x61, 1, 5, 0, 4, 1, 1, 0x74, 1, 0x62, 0)
    expect(() => inspectUpdate(twice)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
  })

  it('tells which clocks of which clients an update holds, leaving out the gaps of a merge', () => {
    const doc = new Y.Doc()
    doc.clientID = 7
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    for (const word of ['ab', 'cde', 'f', 'gh']) doc.getText('t').insert(0, word)
    const other = new Y.Doc()
    other.clientID = 9
    other.getMap('m').set('k', 1)
    // Without the second update, the merge holds clocks 0-1 and 5-7 of client 7, with a gap between.
    const merged = Y.mergeUpdates([updates[0]!, updates[2]!, updates[3]!, Y.encodeStateAsUpdate(other)])
    expect(inspectUpdate(merged).ranges).toEqual([
      { client: 9, start: 0, end: 1 },
      { client: 7, start: 0, end: 2 },
      { client: 7, start: 5, end: 8 },
    ])
  })
})
