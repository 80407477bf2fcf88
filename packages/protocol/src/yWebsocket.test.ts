import fc from 'fast-check'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as authProtocol from 'y-protocols/auth'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { ProtocolError } from './errors.js'
import { syncMessageType, type SyncMessage } from './sync.js'
import {
  decodeYWebsocketMessage,
  encodeYWebsocketMessage,
  yWebsocketMessageType,
  type YWebsocketMessage,
} from './yWebsocket.js'
import { bytesOf, concat, nanVarUint, outcome, rejectionBy } from './test/decodingCases.js'

const rejection = rejectionBy(decodeYWebsocketMessage)

const payload = fc.uint8Array({ maxLength: 200 })
const syncMessage: fc.Arbitrary<SyncMessage> = fc.oneof(
  fc.record({ type: fc.constant('step1'), stateVector: payload }),
  fc.record({ type: fc.constant('step2'), update: payload }),
  fc.record({ type: fc.constant('update'), update: payload }),
)
const messages: { readonly [T in YWebsocketMessage['type']]: fc.Arbitrary<Extract<YWebsocketMessage, { type: T }>> } = {
  sync: fc.record({ type: fc.constant('sync'), sync: syncMessage }),
  awareness: fc.record({ type: fc.constant('awareness'), update: payload }),
  permissionDenied: fc.record({
    type: fc.constant('permissionDenied'),
    reason: fc.string({ unit: 'binary', maxLength: 60 }),
  }),
  queryAwareness: fc.constant({ type: 'queryAwareness' }),
}
const anyMessage: fc.Arbitrary<YWebsocketMessage> = fc.oneof(...Object.values(messages))

const docWith = (texts: readonly string[]): Y.Doc => {
  const doc = new Y.Doc()
  for (const t of texts) doc.getText('t').insert(0, t)
  return doc
}
const texts = fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 })

/** What a y-websocket peer sends: the message type, then what `write` adds. */
const yProtocolsMessage = (type: number, write: (encoder: encoding.Encoder) => void): Uint8Array =>
  bytesOf((encoder) => {
    encoding.writeVarUint(encoder, type)
    write(encoder)
  })

describe('y-websocket messages', () => {
  it('use the message and sync types of y-websocket and y-protocols', () => {
    expect(yWebsocketMessageType).toEqual({ sync: 0, awareness: 1, auth: 2, queryAwareness: 3 })
    expect(syncMessageType).toEqual({
      step1: syncProtocol.messageYjsSyncStep1,
      step2: syncProtocol.messageYjsSyncStep2,
      update: syncProtocol.messageYjsUpdate,
    })
    expect(authProtocol.messagePermissionDenied).toBe(0)
  })

  describe('round trip', () => {
    it.each(Object.keys(messages) as YWebsocketMessage['type'][])(
      'decode(encode(%s message)) is the message',
      (type) => {
        fc.assert(
          fc.property(messages[type], (message) => {
            expect(decodeYWebsocketMessage(encodeYWebsocketMessage(message))).toEqual(message)
          }),
          { numRuns: type === 'queryAwareness' ? 1 : 200 },
        )
      },
    )
  })

  describe('byte layout', () => {
    it.each<[string, YWebsocketMessage, number[]]>([
      ['sync step1', { type: 'sync', sync: { type: 'step1', stateVector: Uint8Array.of(0) } }, [0, 0, 1, 0]],
      ['sync step2', { type: 'sync', sync: { type: 'step2', update: Uint8Array.of(5, 6) } }, [0, 1, 2, 5, 6]],
      [
        'sync update',
        { type: 'sync', sync: { type: 'update', update: new Uint8Array(130) } },
        [0, 2, 0x82, 0x01, ...new Array<number>(130).fill(0)],
      ],
      ['awareness', { type: 'awareness', update: Uint8Array.of(1, 2) }, [1, 2, 1, 2]],
      ['permission denied', { type: 'permissionDenied', reason: 'no' }, [2, 0, 2, 0x6e, 0x6f]],
      ['query awareness', { type: 'queryAwareness' }, [3]],
    ])('%s', (_, message, bytes) => {
      expect(Array.from(encodeYWebsocketMessage(message))).toEqual(bytes)
      expect(decodeYWebsocketMessage(Uint8Array.from(bytes))).toEqual(message)
    })
  })

  describe('byte compatibility with y-protocols', () => {
    it('sync step 1, step 2 and update are the bytes y-protocols writes, and decode to what it wrote', () => {
      fc.assert(
        fc.property(texts, texts, (ours, theirs) => {
          const doc = docWith(theirs)
          const stateVector = Y.encodeStateVector(docWith(ours))

          const step1 = yProtocolsMessage(yWebsocketMessageType.sync, (e) => syncProtocol.writeSyncStep1(e, doc))
          const step1Message: YWebsocketMessage = {
            type: 'sync',
            sync: { type: 'step1', stateVector: Y.encodeStateVector(doc) },
          }
          expect(decodeYWebsocketMessage(step1)).toEqual(step1Message)
          expect(encodeYWebsocketMessage(step1Message)).toEqual(step1)

          const step2 = yProtocolsMessage(yWebsocketMessageType.sync, (e) =>
            syncProtocol.writeSyncStep2(e, doc, stateVector),
          )
          const step2Message: YWebsocketMessage = {
            type: 'sync',
            sync: { type: 'step2', update: Y.encodeStateAsUpdate(doc, stateVector) },
          }
          expect(decodeYWebsocketMessage(step2)).toEqual(step2Message)
          expect(encodeYWebsocketMessage(step2Message)).toEqual(step2)

          const update = Y.encodeStateAsUpdate(doc)
          const updateBytes = yProtocolsMessage(yWebsocketMessageType.sync, (e) => syncProtocol.writeUpdate(e, update))
          expect(decodeYWebsocketMessage(updateBytes)).toEqual({ type: 'sync', sync: { type: 'update', update } })
          expect(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } })).toEqual(updateBytes)
        }),
        { numRuns: 50 },
      )
    })

    it('a peer using only this codec syncs with a peer using y-protocols, both ways', () => {
      fc.assert(
        fc.property(
          texts,
          texts,
          fc.string({ maxLength: 8 }),
          fc.string({ maxLength: 8 }),
          (ours, theirs, edit, reply) => {
            const our = docWith(ours)
            const their = docWith(theirs)
            const toOurs: Uint8Array[] = []
            const toTheirs: Uint8Array[] = []

            /** How a y-websocket provider handles a message: y-protocols reads it, answering into a sync message. */
            const theirsReceive = (bytes: Uint8Array): void => {
              const decoder = decoding.createDecoder(bytes)
              expect(decoding.readVarUint(decoder)).toBe(yWebsocketMessageType.sync)
              const answer = encoding.createEncoder()
              encoding.writeVarUint(answer, yWebsocketMessageType.sync)
              syncProtocol.readSyncMessage(decoder, answer, their, 'ours')
              expect(decoding.hasContent(decoder)).toBe(false)
              if (encoding.length(answer) > 1) toOurs.push(encoding.toUint8Array(answer))
            }
            const oursReceive = (bytes: Uint8Array): void => {
              const message = decodeYWebsocketMessage(bytes)
              if (message.type !== 'sync') throw new Error(`unexpected ${message.type}`)
              if (message.sync.type === 'step1') {
                const update = Y.encodeStateAsUpdate(our, message.sync.stateVector)
                toTheirs.push(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step2', update } }))
              } else {
                Y.applyUpdate(our, message.sync.update, 'theirs')
              }
            }
            our.on('update', (update: Uint8Array, origin: unknown) => {
              if (origin !== 'theirs')
                toTheirs.push(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
            })
            their.on('update', (update: Uint8Array, origin: unknown) => {
              if (origin !== 'ours')
                toOurs.push(yProtocolsMessage(yWebsocketMessageType.sync, (e) => syncProtocol.writeUpdate(e, update)))
            })
            const deliver = (): void => {
              while (toOurs.length > 0 || toTheirs.length > 0) {
                for (const bytes of toOurs.splice(0)) oursReceive(bytes)
                for (const bytes of toTheirs.splice(0)) theirsReceive(bytes)
              }
            }

            toOurs.push(yProtocolsMessage(yWebsocketMessageType.sync, (e) => syncProtocol.writeSyncStep1(e, their)))
            toTheirs.push(
              encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: Y.encodeStateVector(our) } }),
            )
            deliver()
            expect(our.getText('t').toString()).toBe(their.getText('t').toString())
            expect(Y.encodeStateVector(our)).toEqual(Y.encodeStateVector(their))

            const synced = our.getText('t').toString()
            their.getText('t').insert(0, edit)
            our.getText('t').insert(synced.length, reply)
            deliver()
            const merged = our.getText('t').toString()
            expect(their.getText('t').toString()).toBe(merged)
            // Into an empty text, concurrent inserts are ordered by client id.
            expect(synced === '' ? [edit + reply, reply + edit] : [edit + synced + reply]).toContain(merged)
          },
        ),
        { numRuns: 50 },
      )
    })

    it('an awareness message carries the update y-protocols encodes, byte for byte', () => {
      fc.assert(
        fc.property(
          fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
          (state) => {
            const awareness = new awarenessProtocol.Awareness(new Y.Doc())
            try {
              awareness.setLocalState(state)
              const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [awareness.clientID])
              const bytes = yProtocolsMessage(yWebsocketMessageType.awareness, (e) =>
                encoding.writeVarUint8Array(e, update),
              )
              expect(decodeYWebsocketMessage(bytes)).toEqual({ type: 'awareness', update })
              expect(encodeYWebsocketMessage({ type: 'awareness', update })).toEqual(bytes)
            } finally {
              awareness.destroy()
            }
          },
        ),
        { numRuns: 50 },
      )
    })

    it('permission denied is what y-protocols/auth writes and reads', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (reason) => {
          const theirs = yProtocolsMessage(yWebsocketMessageType.auth, (e) =>
            authProtocol.writePermissionDenied(e, reason),
          )
          expect(decodeYWebsocketMessage(theirs)).toEqual({ type: 'permissionDenied', reason })
          const ours = encodeYWebsocketMessage({ type: 'permissionDenied', reason })
          expect(ours).toEqual(theirs)

          const decoder = decoding.createDecoder(ours)
          expect(decoding.readVarUint(decoder)).toBe(yWebsocketMessageType.auth)
          const denied: string[] = []
          authProtocol.readAuthMessage(decoder, new Y.Doc(), (_, why) => denied.push(why))
          expect(denied).toEqual([reason])
        }),
      )
    })
  })

  describe('rejects', () => {
    it('every strict prefix of a valid message as truncated', () => {
      fc.assert(
        fc.property(anyMessage, (message) => {
          const bytes = encodeYWebsocketMessage(message)
          // One expect per input rather than per prefix keeps this fast.
          const outcomes = new Set<string>()
          for (let length = 0; length < bytes.length; length++)
            outcomes.add(outcome(() => decodeYWebsocketMessage(bytes.subarray(0, length))))
          expect([...outcomes]).toEqual(['malformedMessage: truncated or undecodable y-websocket message'])
        }),
        { numRuns: 300 },
      )
    })

    it('trailing bytes after a valid message, counting them', () => {
      fc.assert(
        fc.property(anyMessage, fc.uint8Array({ minLength: 1, maxLength: 16 }), (message, extra) => {
          const error = rejection(concat(encodeYWebsocketMessage(message), extra))
          expect(error.message).toBe(`${extra.length} unexpected trailing bytes after y-websocket message`)
        }),
        { numRuns: 300 },
      )
    })

    it('unknown message types', () => {
      fc.assert(
        fc.property(fc.integer({ min: 4, max: Number.MAX_SAFE_INTEGER }), payload, (type, body) => {
          const bytes = concat(
            bytesOf((e) => encoding.writeVarUint(e, type)),
            body,
          )
          expect(rejection(bytes).message).toBe(`unknown message type ${type}`)
        }),
      )
    })

    it('unknown sync and auth sub-types', () => {
      fc.assert(
        fc.property(fc.integer({ min: 3, max: Number.MAX_SAFE_INTEGER }), payload, (type, body) => {
          const sync = bytesOf((e) => {
            encoding.writeVarUint(e, yWebsocketMessageType.sync)
            encoding.writeVarUint(e, type)
            encoding.writeVarUint8Array(e, body)
          })
          expect(rejection(sync).message).toBe(`unknown sync message type ${type}`)
          const auth = bytesOf((e) => {
            encoding.writeVarUint(e, yWebsocketMessageType.auth)
            encoding.writeVarUint(e, type - 2)
            encoding.writeVarString(e, 'reason')
          })
          expect(rejection(auth).message).toBe(`unknown auth message ${type - 2}`)
        }),
      )
    })

    it('a message type or sync type that lib0 reads as NaN', () => {
      // Before the safe-integer check this decoded as { type: 'queryAwareness' }.
      rejection(Uint8Array.from(nanVarUint))
      rejection(concat([yWebsocketMessageType.sync], nanVarUint, [0]))
    })

    it('a reason that is not UTF-8', () => {
      rejection(Uint8Array.of(yWebsocketMessageType.auth, 0, 1, 0x80))
    })
  })

  it('random bytes decode or throw a ProtocolError', () => {
    const decodesOrRejects = (bytes: Uint8Array): void => {
      let message: YWebsocketMessage
      try {
        message = decodeYWebsocketMessage(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError)
        expect((error as ProtocolError).code).toBe('malformedMessage')
        return
      }
      expect(decodeYWebsocketMessage(encodeYWebsocketMessage(message))).toEqual(message)
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrRejects), { numRuns: 3000 })
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ maxLength: 64 }), (type, body) => {
        decodesOrRejects(concat([type], body))
      }),
      { numRuns: 3000 },
    )
  })
})
