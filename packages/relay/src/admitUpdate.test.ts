import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { admitUpdate } from './admitUpdate.js'
import { findConflict } from './contentConflicts.js'
import { DocumentState } from './documentState.js'
import { KnownClocks } from './knownClocks.js'
import { inspectUpdate } from './yjsUpdates.js'

/** A relay's view of one document: what it holds, and the clocks of it. */
class RelayDocument {
  readonly state = new DocumentState([])
  readonly known = new KnownClocks()
  /** How often admission needed the whole merged state. */
  merges = 0

  /** Admits `update` as the room does; returns what was kept. */
  receive(update: Uint8Array): Uint8Array | undefined {
    const admitted = admitUpdate(
      update,
      this.known,
      () => {
        this.merges++
        return this.state.merge()
      },
      () => this.state.recent(),
    )
    if (!admitted) return undefined
    this.known.add(admitted.ranges)
    this.state.add(admitted.update)
    return admitted.update
  }

  content(): unknown {
    const doc = new Y.Doc()
    Y.applyUpdate(doc, this.state.merge())
    return contentOf(doc)
  }
}

const contentOf = (doc: Y.Doc): unknown => ({
  text: doc.getText('t').toString(),
  map: doc.getMap('m').toJSON(),
  array: doc.getArray('a').toJSON(),
  items: doc.getArray('items').toJSON(),
})

/** Client `clientID` types each of `words` at the end of text `t`, or at `at`; one update per word. */
const typing = (clientID: number, words: string[], at?: number): Uint8Array[] => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (const word of words) doc.getText('t').insert(at ?? doc.getText('t').length, word)
  return updates
}

type Step =
  | { kind: 'insert' | 'delete' | 'map' | 'array' | 'nested'; replica: number; at: number; text: string }
  | { kind: 'sync'; from: number; to: number }
  | { kind: 'stepTwo'; replica: number; stale: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('insert' as const, 'delete' as const, 'map' as const, 'array' as const, 'nested' as const),
      replica: fc.integer({ min: 0, max: 2 }),
      at: fc.nat(),
      text: fc.string({ minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('sync' as const),
      from: fc.integer({ min: 0, max: 2 }),
      to: fc.integer({ min: 0, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stepTwo' as const),
      replica: fc.integer({ min: 0, max: 2 }),
      stale: fc.nat(),
    }),
  },
)

/**
 * Three honest replicas edit and sync with each other; every update any of
 * them emits, and step 2s they answer to state vectors the relay had at
 * some earlier point, is a message the relay may receive.
 */
const honestMessages = (steps: Step[]): { messages: Uint8Array[]; replicas: Y.Doc[] } => {
  const replicas = [1, 2, 3].map((clientID) => {
    const doc = new Y.Doc()
    doc.clientID = clientID
    return doc
  })
  const messages: Uint8Array[] = []
  const stateVectors: Uint8Array[] = [Y.encodeStateVector(new Y.Doc())]
  for (const doc of replicas) doc.on('update', (update: Uint8Array) => messages.push(update))
  for (const each of steps) {
    if (each.kind === 'sync') {
      const [from, to] = [replicas[each.from]!, replicas[each.to]!]
      Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)))
      continue
    }
    const doc = replicas[each.replica]!
    if (each.kind === 'stepTwo') {
      messages.push(Y.encodeStateAsUpdate(doc, stateVectors[each.stale % stateVectors.length]!))
      stateVectors.push(Y.encodeStateVector(doc))
      continue
    }
    const text = doc.getText('t')
    switch (each.kind) {
      case 'insert':
        text.insert(each.at % (text.length + 1), each.text)
        break
      case 'delete':
        if (text.length > 0)
          text.delete(each.at % text.length, Math.min(each.text.length, text.length - (each.at % text.length)))
        break
      case 'map':
        doc.getMap('m').set(each.text, each.at)
        break
      case 'array':
        doc.getArray('a').insert(each.at % (doc.getArray('a').length + 1), [each.text])
        break
      case 'nested': {
        const item = new Y.Map<unknown>()
        item.set('title', new Y.Text(each.text))
        doc.getArray('items').push([item])
        break
      }
    }
  }
  return { messages, replicas }
}

describe('admitUpdate', () => {
  it('keeps everything honest replicas send, in any order and repeated, and converges', () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 10, maxLength: 60 }),
        fc.infiniteStream(fc.nat()),
        (steps, randomness) => {
          const { messages, replicas } = honestMessages(steps)
          // Deliver every message once or twice, and each replica's whole state, in a random order:
          // gaps open, and fill with content the relay holds past them.
          const deliveries = [
            ...messages,
            ...messages.filter(() => randomness.next().value % 3 === 0),
            ...replicas.map((replica) => Y.encodeStateAsUpdate(replica)),
          ]
          for (let i = deliveries.length - 1; i > 0; i--) {
            const j = randomness.next().value % (i + 1)
            ;[deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!]
          }
          const relay = new RelayDocument()
          for (const message of deliveries) relay.receive(message)
          // A replica that syncs with all others holds everything anyone wrote.
          const reference = replicas[0]!
          for (const other of replicas) Y.applyUpdate(reference, Y.encodeStateAsUpdate(other))
          expect(relay.content()).toEqual(contentOf(reference))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('drops a repeat of what the document holds, and keeps what an overlapping update adds', () => {
    const [first, second] = typing(7, ['abc', 'de'])
    const relay = new RelayDocument()
    expect(relay.receive(first!)).toEqual(first)
    expect(relay.receive(first!)).toBeUndefined()
    expect(relay.receive(second!)).toEqual(second)
    // An update that overlaps what is held keeps what is new.
    const [whole] = typing(7, ['abcdefg'])
    const kept = relay.receive(whole!)!
    expect(Y.decodeUpdate(kept).structs.map((struct) => [struct.id.clock, struct.length])).toEqual([[5, 2]])
    expect(relay.content()).toMatchObject({ text: 'abcdefg' })
  })

  it('compares a repeat of a recent update with the recent updates alone, and a contradiction with the whole document', () => {
    const [first, second, third] = typing(7, ['abc', 'de', 'fg'])
    const relay = new RelayDocument()
    for (const update of [first!, second!, third!]) relay.receive(update)
    expect(relay.receive(second!)).toBeUndefined()
    expect(relay.receive(Y.mergeUpdates([first!, second!]))).toBeUndefined()
    expect(relay.merges).toBe(0)
    const [forged] = typing(7, ['xyz'])
    expect(() => relay.receive(forged!)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
    expect(relay.merges).toBe(1)
    // Merged now: what was recent is in the merged state, and a repeat of it is compared there.
    expect(relay.receive(third!)).toBeUndefined()
    expect(relay.merges).toBe(2)
    expect(relay.content()).toMatchObject({ text: 'abcdefg' })
  })

  it("refuses other content under clocks the document holds, so that nobody can squat a client's next clocks", () => {
    const [first] = typing(7, ['abc'])
    const relay = new RelayDocument()
    relay.receive(first!)
    // Anyone who read the state vector knows client 7 comes next at clock 3, and can write there first.
    const squatter = new Y.Doc()
    Y.applyUpdate(squatter, first!)
    squatter.clientID = 7
    const squatted: Uint8Array[] = []
    squatter.on('update', (update: Uint8Array) => squatted.push(update))
    squatter.getText('t').insert(3, 'XY')
    expect(relay.receive(squatted[0]!)).toBeDefined()
    // Client 7's own edit at those clocks, and a forgery of what it wrote first, are refused, not taken for repeats.
    const [, own] = typing(7, ['abc', 'de'])
    const [forgedFirst] = typing(7, ['xyz'])
    for (const [what, update] of [
      ['the real edit', own!],
      ['a forgery of the first edit', forgedFirst!],
    ] as const) {
      expect(() => relay.receive(update), what).toThrow(
        expect.objectContaining({ code: 'invalidUpdate', message: expect.stringContaining('7:') }),
      )
    }
    expect(relay.content()).toMatchObject({ text: 'abcXY' })
  })

  it('refuses content that contradicts what the document holds past a gap', () => {
    const honest = typing(7, ['abcde', 'fgh'])
    const relay = new RelayDocument()
    relay.receive(honest[1]!) // clocks 5-7 arrive before 0-4
    const forgeries = [
      ['other content', typing(7, ['abcde', 'xgh'])],
      ['the same content in another place', typing(7, ['abcde', 'fgh'], 0)],
    ] as const
    for (const [what, updates] of forgeries) {
      expect(() => relay.receive(Y.mergeUpdates([...updates])), what).toThrow(
        expect.objectContaining({ code: 'invalidUpdate', message: expect.stringContaining('7:') }),
      )
    }
    expect(relay.receive(Y.mergeUpdates(honest))).toBeDefined()
    expect(relay.content()).toMatchObject({ text: 'abcdefgh' })
  })

  it('lets the deleted form of content agree with the content, where a delete set says it is deleted', () => {
    const doc = new Y.Doc()
    doc.clientID = 7
    const updates: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => updates.push(update))
    doc.getText('t').insert(0, 'abcde')
    doc.getText('t').insert(5, 'fgh')
    const relay = new RelayDocument()
    relay.receive(updates[1]!) // "fgh", past a gap
    doc.getText('t').delete(5, 2) // "fg" is now held as deleted content
    const fullState = Y.encodeStateAsUpdate(doc)
    expect(
      Y.decodeUpdate(fullState).structs.some(
        (struct) => struct instanceof Y.Item && struct.content instanceof Y.ContentDeleted,
      ),
    ).toBe(true)
    expect(relay.receive(fullState)).toBeDefined()
    expect(relay.content()).toMatchObject({ text: 'abcdeh' })

    // Without a deletion, the deleted form is a contradiction. The delete set closes the update:
    // one client (1), client 7, one range (1), from clock 5, 2 long.
    expect([...fullState.slice(-5)]).toEqual([1, 7, 1, 5, 2])
    const withoutDeleteSet = Uint8Array.from([...fullState.slice(0, -5), 0])
    const other = new RelayDocument()
    other.receive(updates[1]!)
    expect(() => other.receive(withoutDeleteSet)).toThrow(expect.objectContaining({ code: 'invalidUpdate' }))
  })
})

/** Writes decoded structs (each client's together) and a delete set back as a v1 update. */
const reencode = ({ structs, ds }: ReturnType<typeof Y.decodeUpdate>): Uint8Array => {
  const byClient = new Map<number, typeof structs>()
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
  encoding.writeVarUint(encoder.restEncoder, ds.clients.size)
  for (const [client, items] of ds.clients) {
    encoding.writeVarUint(encoder.restEncoder, client)
    encoding.writeVarUint(encoder.restEncoder, items.length)
    for (const { clock, len } of items) {
      encoding.writeVarUint(encoder.restEncoder, clock)
      encoding.writeVarUint(encoder.restEncoder, len)
    }
  }
  return encoder.toUint8Array()
}

describe('findConflict', () => {
  /** The merged state of honest replicas, from a replica that garbage-collected what was deleted and one that kept it. */
  const states = (steps: Step[]) => {
    const { replicas } = honestMessages(steps)
    const kept = new Y.Doc({ gc: false })
    for (const replica of replicas) Y.applyUpdate(kept, Y.encodeStateAsUpdate(replica))
    const collected = new Y.Doc()
    Y.applyUpdate(collected, Y.encodeStateAsUpdate(kept))
    return { collected: Y.encodeStateAsUpdate(collected), kept: Y.encodeStateAsUpdate(kept) }
  }

  it('finds no conflict between honest copies of one state, and the one clock of a changed character', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 40 }), fc.nat(), (steps, at) => {
        const { collected, kept } = states(steps)
        const ranges = inspectUpdate(kept).ranges
        expect(findConflict(kept, collected, ranges)).toBeUndefined()
        expect(findConflict(collected, kept, ranges)).toBeUndefined()
        expect(findConflict(reencode(Y.decodeUpdate(kept)), kept, ranges)).toBeUndefined()
        // Change one character that is not deleted: that clock is the first conflict.
        const decoded = Y.decodeUpdate(kept)
        const characters = decoded.structs.flatMap((struct) =>
          struct instanceof Y.Item && struct.content instanceof Y.ContentString
            ? Array.from({ length: struct.length }, (_, offset) => ({ struct, offset }))
            : [],
        )
        const live = characters.filter(
          ({ struct, offset }) => !Y.isDeleted(decoded.ds, Y.createID(struct.id.client, struct.id.clock + offset)),
        )
        if (live.length === 0) return
        const { struct, offset } = live[at % live.length]!
        const content = struct.content as Y.ContentString
        const changed = content.str[offset] === 'Z' ? 'Y' : 'Z'
        content.str = content.str.slice(0, offset) + changed + content.str.slice(offset + 1)
        const clock = struct.id.clock + offset
        const conflict = findConflict(reencode(decoded), kept, ranges)
        expect(conflict).toBe(`${struct.id.client}:${clock}`)
        expect(findConflict(reencode(decoded), collected, ranges)).toBe(`${struct.id.client}:${clock}`)
      }),
      { numRuns: 150 },
    )
  })
})
