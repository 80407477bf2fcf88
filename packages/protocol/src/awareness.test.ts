import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as Y from 'yjs'
import { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from './awareness.js'
import { ProtocolError } from './errors.js'
import { bytesOf, concat, nanVarUint, outcome, rejectionBy, twoPow53 } from './test/decodingCases.js'

/** Runs `use` with a real y-protocols Awareness and destroys it after (it keeps an interval timer). */
const withAwareness = <T>(use: (awareness: awarenessProtocol.Awareness) => T): T => {
  const awareness = new awarenessProtocol.Awareness(new Y.Doc())
  try {
    return use(awareness)
  } finally {
    awareness.destroy()
  }
}

const rejection = rejectionBy(decodeAwarenessUpdate)

const bigNat = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 127, 128, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER))
const stateObject = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
const entry: fc.Arbitrary<AwarenessEntry> = fc.record({
  clientId: bigNat,
  clock: bigNat,
  state: fc.oneof(
    fc.constant('null'),
    stateObject.map((state) => JSON.stringify(state)),
    // The decoder carries the text as sent; whether it is JSON is the relay's concern.
    fc.string({ unit: 'binary', maxLength: 40 }),
  ),
})
const entries = fc.array(entry, { maxLength: 8 })

describe('awareness updates', () => {
  it('round trip: decode(encode(entries)) is the entries, in order', () => {
    fc.assert(
      fc.property(entries, (list) => {
        expect(decodeAwarenessUpdate(encodeAwarenessUpdate(list))).toEqual(list)
      }),
      { numRuns: 500 },
    )
  })

  it('encode accepts any iterable', () => {
    const list: AwarenessEntry[] = [
      { clientId: 1, clock: 2, state: '{}' },
      { clientId: 3, clock: 4, state: 'null' },
    ]
    expect(encodeAwarenessUpdate(new Set(list))).toEqual(encodeAwarenessUpdate(list))
  })

  it('lay out count, then client id, clock and JSON text per entry', () => {
    const bytes = encodeAwarenessUpdate([
      { clientId: 300, clock: 1, state: '{"a":1}' },
      { clientId: 2, clock: 128, state: 'null' },
    ])
    expect(Array.from(bytes)).toEqual([
      2,
      ...[0xac, 0x02, 1, 7, ...new TextEncoder().encode('{"a":1}')],
      ...[2, 0x80, 0x01, 4, ...new TextEncoder().encode('null')],
    ])
    expect(Array.from(encodeAwarenessUpdate([]))).toEqual([0])
    expect(decodeAwarenessUpdate(Uint8Array.of(0))).toEqual([])
  })

  describe('with y-protocols', () => {
    it('decodes what encodeAwarenessUpdate writes for a real Awareness', () => {
      fc.assert(
        fc.property(stateObject, fc.nat(1000), (state, changes) => {
          withAwareness((awareness) => {
            for (let i = 0; i < changes % 5; i++) awareness.setLocalState({ ...state, i })
            awareness.setLocalState(state)
            const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID])
            expect(decodeAwarenessUpdate(update)).toEqual([
              {
                clientId: awareness.clientID,
                clock: awareness.meta.get(awareness.clientID)?.clock,
                state: JSON.stringify(state),
              },
            ])
            expect(encodeAwarenessUpdate(decodeAwarenessUpdate(update))).toEqual(update)
          })
        }),
        { numRuns: 100 },
      )
    })

    it('applyAwarenessUpdate accepts what this encodes, and y-protocols encodes the same back', () => {
      const remote = fc.uniqueArray(
        fc.record({
          clientId: bigNat,
          clock: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          state: stateObject,
        }),
        { selector: (e) => e.clientId, maxLength: 6 },
      )
      fc.assert(
        fc.property(remote, (clients) => {
          withAwareness((awareness) => {
            const others = clients.filter((c) => c.clientId !== awareness.clientID)
            const sent = others.map(({ clientId, clock, state }) => ({ clientId, clock, state: JSON.stringify(state) }))
            awarenessProtocol.applyAwarenessUpdate(awareness, encodeAwarenessUpdate(sent), 'relay')

            for (const { clientId, clock, state } of others) {
              expect(awareness.getStates().get(clientId)).toEqual(JSON.parse(JSON.stringify(state)))
              expect(awareness.meta.get(clientId)?.clock).toBe(clock)
            }
            const ids = others.map((c) => c.clientId)
            const back = decodeAwarenessUpdate(awarenessProtocol.encodeAwarenessUpdate(awareness, ids))
            expect(back.map(({ clientId, clock }) => ({ clientId, clock }))).toEqual(
              sent.map(({ clientId, clock }) => ({ clientId, clock })),
            )
            expect(back.map((e) => JSON.parse(e.state))).toEqual(sent.map((e) => JSON.parse(e.state)))
          })
        }),
        { numRuns: 100 },
      )
    })

    it("a 'null' state with a newer clock removes the client, and y-protocols' removals decode as 'null'", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 2 ** 32 - 1 }),
          fc.integer({ min: 1, max: 1_000_000 }),
          stateObject,
          (clientId, clock, state) => {
            withAwareness((awareness) => {
              fc.pre(clientId !== awareness.clientID)
              awarenessProtocol.applyAwarenessUpdate(
                awareness,
                encodeAwarenessUpdate([{ clientId, clock, state: JSON.stringify(state) }]),
                'relay',
              )
              expect(awareness.getStates().has(clientId)).toBe(true)

              // An older clock changes nothing; a newer one with 'null' removes.
              awarenessProtocol.applyAwarenessUpdate(
                awareness,
                encodeAwarenessUpdate([{ clientId, clock: clock - 1, state: 'null' }]),
                'relay',
              )
              expect(awareness.getStates().has(clientId)).toBe(true)
              awarenessProtocol.applyAwarenessUpdate(
                awareness,
                encodeAwarenessUpdate([{ clientId, clock: clock + 1, state: 'null' }]),
                'relay',
              )
              expect(awareness.getStates().has(clientId)).toBe(false)

              // y-protocols' own removal of its local state.
              const updates: Uint8Array[] = []
              awareness.on(
                'update',
                ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>) => {
                  updates.push(awarenessProtocol.encodeAwarenessUpdate(awareness, [...added, ...updated, ...removed]))
                },
              )
              const localClock = awareness.meta.get(awareness.clientID)?.clock ?? -1
              awarenessProtocol.removeAwarenessStates(awareness, [awareness.clientID], 'test')
              expect(updates.map((u) => decodeAwarenessUpdate(u))).toEqual([
                [{ clientId: awareness.clientID, clock: localClock + 1, state: 'null' }],
              ])
            })
          },
        ),
        { numRuns: 50 },
      )
    })
  })

  describe('rejects', () => {
    it('every strict prefix of a valid update as truncated', () => {
      fc.assert(
        fc.property(entries, (list) => {
          const bytes = encodeAwarenessUpdate(list)
          // One expect per input rather than per prefix keeps this fast.
          const outcomes = new Set<string>()
          for (let length = 0; length < bytes.length; length++)
            outcomes.add(outcome(() => decodeAwarenessUpdate(bytes.subarray(0, length))))
          expect([...outcomes]).toEqual(['malformedMessage: truncated or undecodable awareness update'])
        }),
        { numRuns: 200 },
      )
    })

    it('trailing bytes after a valid update, counting them', () => {
      fc.assert(
        fc.property(entries, fc.uint8Array({ minLength: 1, maxLength: 16 }), (list, extra) => {
          const error = rejection(concat(encodeAwarenessUpdate(list), extra))
          expect(error.message).toBe(`${extra.length} unexpected trailing bytes after awareness update`)
        }),
        { numRuns: 300 },
      )
    })

    it('a count larger than the entries that follow, however large', () => {
      fc.assert(
        fc.property(entries, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (list, more) => {
          const update = encodeAwarenessUpdate(list)
          const header = bytesOf((e) => encoding.writeVarUint(e, Math.min(list.length + more, Number.MAX_SAFE_INTEGER)))
          // Replace the count (one byte for up to 127 entries) with a larger one.
          rejection(concat(header, update.subarray(1)))
        }),
      )
    })

    it('a count, client id or clock that is NaN or past Number.MAX_SAFE_INTEGER', () => {
      const state = [2, 0x7b, 0x7d]
      rejection(Uint8Array.from(nanVarUint)) // would have decoded as no entries
      rejection(concat([1], nanVarUint, [1], state)) // would have decoded as client id NaN
      rejection(concat([1, 1], nanVarUint, state))
      rejection(concat([1], twoPow53, [1], state))
      rejection(concat([1, 1], twoPow53, state))
      expect(
        decodeAwarenessUpdate(
          concat(
            [1],
            bytesOf((e) => encoding.writeVarUint(e, Number.MAX_SAFE_INTEGER)),
            [1],
            state,
          ),
        ),
      ).toEqual([{ clientId: Number.MAX_SAFE_INTEGER, clock: 1, state: '{}' }])
    })

    it('a state that is not UTF-8', () => {
      rejection(Uint8Array.of(1, 1, 1, 2, 0xc3, 0x28))
    })

    it('random bytes decode or throw a ProtocolError', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            // A small count, so that entries get read.
            fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 64 })).map(([n, b]) => concat([n], b)),
          ),
          (bytes) => {
            let list: AwarenessEntry[]
            try {
              list = decodeAwarenessUpdate(bytes)
            } catch (error) {
              expect(error).toBeInstanceOf(ProtocolError)
              expect((error as ProtocolError).code).toBe('malformedMessage')
              return
            }
            for (const { clientId, clock } of list) {
              expect(Number.isSafeInteger(clientId) && Number.isSafeInteger(clock)).toBe(true)
            }
            expect(decodeAwarenessUpdate(encodeAwarenessUpdate(list))).toEqual(list)
          },
        ),
        { numRuns: 4000 },
      )
    })
  })
})
