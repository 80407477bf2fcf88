import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { KnownClocks } from './knownClocks.js'
import { maxWaitingStructs, WaitingStructs } from './waitingStructs.js'
import { inspectUpdate } from './yjsUpdates.js'

/** One update of one item: `text` by `client` from `clock`, after `origin`, or at the start of text `t`. */
const item = (client: number, clock: number, text: string, origin?: readonly [number, number]): Uint8Array => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, 1) // clients
  encoding.writeVarUint(encoder, 1) // structs of that client
  encoding.writeVarUint(encoder, client)
  encoding.writeVarUint(encoder, clock)
  if (origin) {
    encoding.writeUint8(encoder, 4 | 0x80) // ContentString, with a left origin
    encoding.writeVarUint(encoder, origin[0])
    encoding.writeVarUint(encoder, origin[1])
  } else {
    encoding.writeUint8(encoder, 4) // ContentString, placed by its parent
    encoding.writeVarUint(encoder, 1) // the parent is a root type, by name
    encoding.writeVarString(encoder, 't')
  }
  encoding.writeVarString(encoder, text)
  encoding.writeVarUint(encoder, 0) // empty delete set
  return encoding.toUint8Array(encoder)
}

/** A document's clocks and waiting structs, as a room keeps them. */
class Held {
  readonly known = new KnownClocks()
  readonly contested = new Set<number>()
  waiting = WaitingStructs.none

  receive(update: Uint8Array): void {
    const { structs, ranges } = inspectUpdate(update)
    this.waiting = this.waiting.with(structs, ranges, this.known, this.contested)
    this.known.add(ranges)
  }

  /** The waiting structs, as "client:start-end". */
  get waits(): string[] {
    return this.waiting.nodes.map(({ client, start, end }) => `${client}:${start}-${end}`)
  }
}

const refusal = /could never be integrated/

describe('WaitingStructs', () => {
  it('costs nothing for honest updates: nothing waits, and the same empty set is kept', () => {
    const held = new Held()
    const doc = new Y.Doc()
    doc.clientID = 1
    doc.on('update', (update: Uint8Array) => held.receive(update))
    doc.getText('t').insert(0, 'hello')
    doc.getText('t').insert(5, ' world')
    doc.getArray('a').push([1, 2])
    expect(held.waiting).toBe(WaitingStructs.none)
  })

  it('keeps what may still come waiting, and lets it go once what it needs arrives', () => {
    const held = new Held()
    held.receive(item(5, 0, 'b', [6, 0]))
    expect(held.waits).toEqual(['5:0-1'])
    held.receive(item(5, 1, 'c', [5, 0]))
    expect(held.waits).toEqual(['5:0-1', '5:1-2'])
    held.receive(item(6, 0, 'a'))
    expect(held.waits).toEqual([])
  })

  it('refuses the update that closes a circle across updates, of two or of three', () => {
    const two = new Held()
    two.receive(item(5, 0, 'b', [6, 0]))
    expect(() => two.receive(item(6, 0, 'a', [5, 0]))).toThrow(refusal)
    expect(two.waits).toEqual(['5:0-1'])

    const three = new Held()
    three.receive(item(5, 0, 'b', [6, 0]))
    three.receive(item(6, 0, 'c', [7, 0]))
    expect(() => three.receive(item(7, 0, 'd', [5, 0]))).toThrow(refusal)
    // Placed otherwise, 7:0 is welcome, and lets the two that waited for it go.
    three.receive(item(7, 0, 'd'))
    expect(three.waits).toEqual([])
  })

  it('refuses what needs clocks of a contested client the document does not hold, and what waits on it', () => {
    const held = new Held()
    held.receive(item(5, 0, 'a'))
    held.contested.add(5)
    expect(() => held.receive(item(5, 2, 'c', [5, 1]))).toThrow(refusal)
    expect(() => held.receive(item(6, 0, 'x', [5, 1]))).toThrow(refusal)
    // What it holds of the contested client stays usable, and so do its next clocks.
    held.receive(item(6, 0, 'x', [5, 0]))
    held.receive(item(5, 1, 'b', [5, 0]))
    expect(held.waits).toEqual([])
  })

  it('finds what waits in a stored document, and refuses what builds on its circles', () => {
    const stored = Y.mergeUpdates([item(5, 0, 'b', [6, 0]), item(6, 0, 'a', [5, 0]), item(7, 0, 'c', [8, 0])])
    const { structs, ranges } = inspectUpdate(stored, true)
    const known = new KnownClocks(ranges)
    const waiting = WaitingStructs.of(structs)
    expect(waiting.nodes.map(({ client }) => client).sort()).toEqual([5, 6, 7])
    const next = (update: Uint8Array) => {
      const inspected = inspectUpdate(update)
      return waiting.with(inspected.structs, inspected.ranges, known, new Set())
    }
    expect(() => next(item(9, 0, 'x', [5, 0]))).toThrow(refusal)
    // 7:0 waits for 8:0, which may still come.
    expect(next(item(9, 0, 'x', [7, 0])).nodes).toHaveLength(4)
    expect(next(item(8, 0, 'y')).nodes).toHaveLength(2)
  })

  it('lets news from another relay wait rather than refuse it', () => {
    const known = new KnownClocks([{ client: 5, start: 0, end: 1 }])
    const inspected = inspectUpdate(item(5, 2, 'c', [5, 1]))
    const waiting = WaitingStructs.none.with(inspected.structs, inspected.ranges, known, new Set([5]), false)
    expect(waiting.nodes).toHaveLength(1)
  })

  it('refuses an update that adds waiting structs past the cap, and takes one that adds none', () => {
    const held = new Held()
    // Each waits for a clock of client 100,000, which nobody sends.
    for (let client = 1; client <= maxWaitingStructs; client++) held.receive(item(client, 0, 'x', [100_000, 0]))
    expect(held.waits).toHaveLength(maxWaitingStructs)
    expect(() => held.receive(item(5000, 0, 'y', [100_000, 0]))).toThrow(`more than ${maxWaitingStructs} structs`)
    held.receive(item(5001, 0, 'z'))
    expect(held.waits).toHaveLength(maxWaitingStructs)
  })
})
