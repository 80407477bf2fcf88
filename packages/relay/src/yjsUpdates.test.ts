import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
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

type Struct = Y.Item | Y.GC | Y.Skip

/** Encodes `structs` (each client's together, in clock order) as a v1 update with an empty delete set. */
const encodeStructs = (structs: readonly Struct[]): Uint8Array => {
  const byClient = new Map<number, Struct[]>()
  for (const struct of structs) {
    const list = byClient.get(struct.id.client) ?? []
    byClient.set(struct.id.client, list)
    list.push(struct)
  }
  const encoder = new Y.UpdateEncoderV1()
  encoding.writeVarUint(encoder.restEncoder, byClient.size)
  for (const [client, list] of byClient) {
    encoding.writeVarUint(encoder.restEncoder, list.length)
    encoder.writeClient(client)
    encoding.writeVarUint(encoder.restEncoder, list[0]!.id.clock)
    for (const struct of list) struct.write(encoder, 0)
  }
  encoding.writeVarUint(encoder.restEncoder, 0)
  return encoder.toUint8Array()
}

/** An item of `client` at `clock` after `origin` (or at the start of text `t`), holding `content`. */
const item = (client: number, clock: number, origin: Y.ID | null, content: Y.Item['content']): Y.Item =>
  new Y.Item(Y.createID(client, clock), null, origin, null, null, origin ? null : ('t' as never), null, content)

/** Structs that take no clock, of every kind that has a length. */
const zeroLength: Array<[string, (client: number, clock: number, origin: Y.ID | null) => Struct]> = [
  ['an empty string', (client, clock, origin) => item(client, clock, origin, new Y.ContentString(''))],
  ['an empty list of values', (client, clock, origin) => item(client, clock, origin, new Y.ContentAny([]))],
  ['an empty list of JSON values', (client, clock, origin) => item(client, clock, origin, new Y.ContentJSON([]))],
  ['deleted content of length 0', (client, clock, origin) => item(client, clock, origin, new Y.ContentDeleted(0))],
  ['a GC of length 0', (client, clock) => new Y.GC(Y.createID(client, clock), 0)],
  ['a skip of length 0', (client, clock) => new Y.Skip(Y.createID(client, clock), 0)],
]

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

  it.each(zeroLength)('refuses %s, a struct that takes no clock, alone or among honest ones', (_what, make) => {
    expect(() => inspectUpdate(encodeStructs([make(5, 0, null)]))).toThrow(
      expect.objectContaining({ code: 'invalidUpdate', message: 'struct 5:0 takes no clock' }),
    )
    // "ab", then the empty struct at clock 2, then "c" after "b".
    const structs = [
      item(5, 0, null, new Y.ContentString('ab')),
      make(5, 2, Y.createID(5, 1)),
      item(5, 2, Y.createID(5, 1), new Y.ContentString('c')),
    ]
    expect(() => inspectUpdate(encodeStructs(structs))).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
  })

  it('refuses an empty text item, which a Y.Doc integrates without a clock, so that an edit next to it never arrives', () => {
    // What the issue reproduced: the empty item, then an honest edit typed where it sits.
    const empty = encodeStructs([item(5, 0, null, new Y.ContentString(''))])
    const writer = new Y.Doc()
    Y.applyUpdate(writer, empty)
    const edits: Uint8Array[] = []
    writer.on('update', (update: Uint8Array) => edits.push(update))
    writer.getText('t').insert(0, 'typed')
    const reader = new Y.Doc()
    Y.applyUpdate(reader, empty)
    for (const edit of edits) Y.applyUpdate(reader, edit)
    // The writer shows its edit; every other copy waits for good on the empty item's id, which no clock holds.
    expect(writer.getText('t').toString()).toBe('typed')
    expect(reader.getText('t').toString()).toBe('')
    expect(reader.store.pendingStructs).not.toBeNull()
    expect(() => inspectUpdate(empty)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
  })

  it('refuses items of two clients that wait on each other, which every Y.Doc keeps waiting for good', () => {
    // 5:0 comes after 6:0, and 6:0 after 5:0.
    const circle = encodeStructs([
      item(6, 0, Y.createID(5, 0), new Y.ContentString('a')),
      item(5, 0, Y.createID(6, 0), new Y.ContentString('b')),
    ])
    const doc = new Y.Doc()
    Y.applyUpdate(doc, circle)
    expect(doc.getText('t').toString()).toBe('')
    expect(doc.store.pendingStructs).not.toBeNull()
    expect(() => inspectUpdate(circle)).toThrow(
      expect.objectContaining({ code: 'invalidUpdate', message: expect.stringContaining('in a circle') }),
    )
    // A longer circle, through a later clock and a parent: 7:1 is in 8:0, which comes after 7:0... and 7:1.
    const longer = encodeStructs([
      item(8, 0, Y.createID(7, 1), new Y.ContentString('x')),
      item(7, 0, null, new Y.ContentString('y')),
      item(7, 1, Y.createID(8, 0), new Y.ContentString('z')),
    ])
    expect(() => inspectUpdate(longer)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
    // Waiting on content the update does not hold is no circle: it may come later.
    const waiting = encodeStructs([item(5, 0, Y.createID(6, 3), new Y.ContentString('b'))])
    expect(inspectUpdate(waiting).ranges).toEqual([{ client: 5, start: 0, end: 1 }])
  })

  it('refuses structs and references past the last safe integer, which no clock reaches exactly', () => {
    const last = Number.MAX_SAFE_INTEGER
    const cases = [
      encodeStructs([item(5, last - 1, Y.createID(5, last - 2), new Y.ContentString('ab'))]),
      encodeStructs([new Y.GC(Y.createID(5, 0), last + 1)]),
      encodeStructs([item(5, 0, Y.createID(6, last), new Y.ContentString('a'))]),
    ]
    for (const update of cases)
      expect(() => inspectUpdate(update)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
    expect(inspectUpdate(encodeStructs([item(5, 0, Y.createID(6, last - 1), new Y.ContentString('a'))])).empty).toBe(
      false,
    )
  })

  it('refuses a zero-length struct wherever it sits in honest updates (property)', () => {
    fc.assert(
      fc.property(
        fc.array(edit, { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.constantFrom(...zeroLength),
        (edits, at, [, make]) => {
          const updates = updatesOf(edits)
          if (updates.length === 0) return
          const structs = Y.decodeUpdate(mergeUpdates(updates)).structs.filter((each) => !(each instanceof Y.Skip))
          if (structs.length === 0) return
          // Right after struct `at`, at the clock it ends: the zero-length struct sits between it and the next one.
          const index = at % structs.length
          const before = structs[index]!
          const end = before.id.clock + before.length
          const inserted = make(before.id.client, end, Y.createID(before.id.client, end - 1))
          const crafted = encodeStructs([...structs.slice(0, index + 1), inserted, ...structs.slice(index + 1)])
          expect(() => inspectUpdate(crafted)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('accepts every honest update re-encoded struct by struct (the encoder of these tests is faithful)', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 30 }), (edits) => {
        const updates = updatesOf(edits)
        if (updates.length === 0) return
        const structs = Y.decodeUpdate(mergeUpdates(updates)).structs
        expect(() => inspectUpdate(encodeStructs(structs))).not.toThrow()
      }),
      { numRuns: 100 },
    )
  })
})
