import fc from 'fast-check'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { ProtocolError } from './errors.js'
import { decodeNativeFrame, encodeNativeFrame } from './historyFrames.js'
import { frameType, nativeSubprotocol, type NativeFrame } from './native.js'
import type { SyncMessage } from './sync.js'
import { encodeYWebsocketMessage } from './yWebsocket.js'
import { bytesOf, concat, nanVarUint, outcome, rejectionBy, twoPow53 } from './test/decodingCases.js'

const rejection = rejectionBy(decodeNativeFrame)

const docName = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', 'notes/2024-01-01', '🦄 équipe/ドキュメント', '😀'.repeat(256)),
)
const payload = fc.uint8Array({ maxLength: 200 })
const bigNat = fc.oneof(
  fc.maxSafeNat(),
  fc.constantFrom(0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32, 2 ** 49, Number.MAX_SAFE_INTEGER),
)
const text = fc.string({ unit: 'binary', maxLength: 60 })
const syncMessage: fc.Arbitrary<SyncMessage> = fc.oneof(
  fc.record({ type: fc.constant('step1'), stateVector: payload }),
  fc.record({ type: fc.constant('step2'), update: payload }),
  fc.record({ type: fc.constant('update'), update: payload }),
)

/** The frames of concord.v2; versionFrames.test.ts has the history frames concord.v3 adds. */
type V2FrameType = Exclude<NativeFrame['type'], 'request' | 'answer' | 'failed'>
const frames: { readonly [T in V2FrameType]: fc.Arbitrary<Extract<NativeFrame, { type: T }>> } = {
  open: fc.record({ type: fc.constant('open'), doc: docName }),
  close: fc.record({ type: fc.constant('close'), doc: docName }),
  sync: fc.record({ type: fc.constant('sync'), doc: docName, seq: bigNat, sync: syncMessage }),
  awareness: fc.record({ type: fc.constant('awareness'), doc: docName, update: payload }),
  queryAwareness: fc.record({ type: fc.constant('queryAwareness'), doc: docName }),
  ack: fc.record({ type: fc.constant('ack'), doc: docName, seq: bigNat }),
  error: fc.record({ type: fc.constant('error'), doc: docName, code: bigNat, reason: text }),
  notice: fc.record({ type: fc.constant('notice'), doc: docName, code: bigNat, message: text }),
  ping: fc.record({ type: fc.constant('ping'), doc: fc.constant(''), id: bigNat }),
  pong: fc.record({ type: fc.constant('pong'), doc: fc.constant(''), id: bigNat }),
  auth: fc.record({ type: fc.constant('auth'), doc: fc.constant(''), token: text }),
  refused: fc.record({ type: fc.constant('refused'), doc: docName, seq: bigNat, code: bigNat, reason: text }),
}
const anyFrame: fc.Arbitrary<NativeFrame> = fc.oneof(...Object.values(frames))

describe('native frames (concord.v2)', () => {
  it('are selected by the concord.v2 subprotocol and number their types 0-11', () => {
    expect(nativeSubprotocol).toBe('concord.v2')
    const { request, answer, failed, ...v2FrameTypes } = frameType
    expect({ request, answer, failed }).toEqual({ request: 12, answer: 13, failed: 14 })
    expect(v2FrameTypes).toEqual({
      open: 0,
      close: 1,
      sync: 2,
      awareness: 3,
      queryAwareness: 4,
      ack: 5,
      error: 6,
      notice: 7,
      ping: 8,
      pong: 9,
      auth: 10,
      refused: 11,
    })
    expect(Object.keys(frames).sort()).toEqual(Object.keys(v2FrameTypes).sort())
  })

  describe('round trip', () => {
    it.each(Object.keys(frames) as V2FrameType[])('decode(encode(%s frame)) is the frame', (type) => {
      fc.assert(
        fc.property(frames[type], (frame) => {
          const bytes = encodeNativeFrame(frame)
          expect(bytes[0]).toBe(frameType[type])
          expect(decodeNativeFrame(bytes)).toEqual(frame)
        }),
        { numRuns: 200 },
      )
    })

    it('decodes a frame that is a view into a larger buffer, reading nothing outside it', () => {
      fc.assert(
        fc.property(anyFrame, payload, payload, (frame, before, after) => {
          const bytes = encodeNativeFrame(frame)
          const buffer = concat(before, bytes, after)
          expect(decodeNativeFrame(buffer.subarray(before.length, before.length + bytes.length))).toEqual(frame)
        }),
      )
    })
  })

  describe('byte layout', () => {
    const a = 0x61
    it.each<[string, NativeFrame, number[]]>([
      ['open', { type: 'open', doc: 'a' }, [0, 1, a]],
      ['close', { type: 'close', doc: 'doc' }, [1, 3, 0x64, 0x6f, 0x63]],
      [
        'sync step1 with seq 1',
        { type: 'sync', doc: 'a', seq: 1, sync: { type: 'step1', stateVector: Uint8Array.of(0) } },
        [2, 1, a, 1, 0, 1, 0],
      ],
      [
        'sync step2 with seq 0 (no ack wanted)',
        { type: 'sync', doc: 'a', seq: 0, sync: { type: 'step2', update: Uint8Array.of(7, 8) } },
        [2, 1, a, 0, 1, 2, 7, 8],
      ],
      [
        'sync update with seq 300',
        { type: 'sync', doc: 'a', seq: 300, sync: { type: 'update', update: Uint8Array.of(1, 2, 3) } },
        [2, 1, a, 0xac, 0x02, 2, 3, 1, 2, 3],
      ],
      ['awareness', { type: 'awareness', doc: 'a', update: Uint8Array.of(9, 9) }, [3, 1, a, 2, 9, 9]],
      ['queryAwareness', { type: 'queryAwareness', doc: 'a' }, [4, 1, a]],
      ['ack', { type: 'ack', doc: 'a', seq: 300 }, [5, 1, a, 0xac, 0x02]],
      ['connection error', { type: 'error', doc: '', code: 4400, reason: 'x' }, [6, 0, 0xb0, 0x22, 1, 0x78]],
      ['notice', { type: 'notice', doc: 'a', code: 1001, message: 'hi' }, [7, 1, a, 0xe9, 0x07, 2, 0x68, 0x69]],
      ['ping', { type: 'ping', doc: '', id: 300 }, [8, 0, 0xac, 0x02]],
      ['pong', { type: 'pong', doc: '', id: 1 }, [9, 0, 1]],
      ['auth', { type: 'auth', doc: '', token: 'jwt' }, [10, 0, 3, 0x6a, 0x77, 0x74]],
      [
        'refused, seq 2, 4403, reason `ro`',
        { type: 'refused', doc: 'a', seq: 2, code: 4403, reason: 'ro' },
        [11, 1, a, 2, 0xb3, 0x22, 2, 0x72, 0x6f],
      ],
      [
        'a document name, length-prefixed in UTF-8 bytes',
        { type: 'open', doc: 'é😀' },
        [0, 6, 0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80],
      ],
    ])('%s', (_, frame, bytes) => {
      expect(Array.from(encodeNativeFrame(frame))).toEqual(bytes)
      expect(decodeNativeFrame(Uint8Array.from(bytes))).toEqual(frame)
    })

    it('carries the y-websocket sync body unchanged after the seq', () => {
      fc.assert(
        fc.property(docName, bigNat, syncMessage, (doc, seq, sync) => {
          const header = bytesOf((encoder) => {
            encoding.writeVarUint(encoder, frameType.sync)
            encoding.writeVarString(encoder, doc)
            encoding.writeVarUint(encoder, seq)
          })
          // The y-websocket message is `0 (sync) · body`.
          const body = encodeYWebsocketMessage({ type: 'sync', sync }).subarray(1)
          expect(encodeNativeFrame({ type: 'sync', doc, seq, sync })).toEqual(concat(header, body))
        }),
      )
    })
  })

  describe('with y-protocols and Yjs', () => {
    const docWith = (texts: string[]): Y.Doc => {
      const doc = new Y.Doc()
      for (const t of texts) doc.getText('t').insert(0, t)
      return doc
    }
    const texts = fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 })

    it('y-protocols reads the sync body of a native frame, and its answer decodes as a native step 2', () => {
      fc.assert(
        fc.property(docName, texts, texts, (name, ours, theirs) => {
          const client = docWith(ours)
          const relay = docWith(theirs)
          const step1 = encodeNativeFrame({
            type: 'sync',
            doc: name,
            seq: 1,
            sync: { type: 'step1', stateVector: Y.encodeStateVector(client) },
          })

          // The relay strips the native header by hand and hands the rest to y-protocols.
          const decoder = decoding.createDecoder(step1)
          expect(decoding.readVarUint(decoder)).toBe(frameType.sync)
          expect(decoding.readVarString(decoder)).toBe(name)
          expect(decoding.readVarUint(decoder)).toBe(1)
          const answer = encoding.createEncoder()
          encoding.writeVarUint(answer, frameType.sync)
          encoding.writeVarString(answer, name)
          encoding.writeVarUint(answer, 0)
          expect(syncProtocol.readSyncMessage(decoder, answer, relay, null)).toBe(syncProtocol.messageYjsSyncStep1)
          expect(decoding.hasContent(decoder)).toBe(false)

          const step2 = decodeNativeFrame(encoding.toUint8Array(answer))
          expect(step2).toMatchObject({ type: 'sync', doc: name, seq: 0, sync: { type: 'step2' } })
          if (step2.type !== 'sync' || step2.sync.type !== 'step2') throw new Error('not a step 2')
          Y.applyUpdate(client, step2.sync.update)
          // Had step 2 missed anything of the relay's, the client would now lack it.
          Y.applyUpdate(relay, Y.encodeStateAsUpdate(client))
          expect(client.getText('t').toString()).toBe(relay.getText('t').toString())
          expect(Y.encodeStateVector(client)).toEqual(Y.encodeStateVector(relay))
        }),
        { numRuns: 50 },
      )
    })
  })

  describe('rejects', () => {
    it('every strict prefix of a valid frame as truncated', () => {
      fc.assert(
        fc.property(anyFrame, (frame) => {
          const bytes = encodeNativeFrame(frame)
          // One expect per input rather than per prefix keeps this fast.
          const outcomes = new Set<string>()
          for (let length = 0; length < bytes.length; length++)
            outcomes.add(outcome(() => decodeNativeFrame(bytes.subarray(0, length))))
          expect([...outcomes]).toEqual(['malformedMessage: truncated or undecodable concord.v2 frame'])
        }),
        { numRuns: 300 },
      )
    })

    it('trailing bytes after a valid frame, counting them', () => {
      fc.assert(
        fc.property(anyFrame, fc.uint8Array({ minLength: 1, maxLength: 16 }), (frame, extra) => {
          const error = rejection(concat(encodeNativeFrame(frame), extra))
          expect(error.message).toBe(`${extra.length} unexpected trailing bytes after concord.v2 frame`)
        }),
        { numRuns: 300 },
      )
    })

    it('unknown frame types, even with a well-formed name after them', () => {
      fc.assert(
        fc.property(fc.integer({ min: 12, max: Number.MAX_SAFE_INTEGER }), docName, (type, doc) => {
          const bytes = bytesOf((encoder) => {
            encoding.writeVarUint(encoder, type)
            encoding.writeVarString(encoder, doc)
          })
          expect(rejection(bytes).message).toBe(`unknown frame type ${type}`)
        }),
      )
    })

    it('a frame type, seq or code that is NaN or past Number.MAX_SAFE_INTEGER', () => {
      rejection(Uint8Array.from([...nanVarUint, 0]))
      rejection(Uint8Array.from([...nanVarUint, 0, 0, 0]))
      rejection(concat([frameType.ack, 0], nanVarUint))
      rejection(concat([frameType.ack, 0], twoPow53))
      rejection(concat([frameType.sync, 0], nanVarUint, [2, 0]))
      rejection(concat([frameType.error, 0], nanVarUint, [0]))
      rejection(concat([frameType.notice, 0], twoPow53, [0]))
      rejection(concat([frameType.ping, 0], nanVarUint))
      // ...while the largest safe integer is fine.
      const max = encodeNativeFrame({ type: 'ack', doc: '', seq: Number.MAX_SAFE_INTEGER })
      expect(decodeNativeFrame(max)).toEqual({ type: 'ack', doc: '', seq: Number.MAX_SAFE_INTEGER })
    })

    it('an unknown sync message type inside a sync frame', () => {
      expect(rejection(Uint8Array.of(frameType.sync, 0, 1, 3, 0)).message).toBe('unknown sync message type 3')
    })

    it('a document name or reason that is not UTF-8', () => {
      rejection(Uint8Array.of(frameType.open, 2, 0xc3, 0x28))
      rejection(Uint8Array.of(frameType.error, 0, 0xb0, 0x22, 1, 0xff))
    })

    it('lengths that point past the end, however large', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (length) => {
          const name = bytesOf((encoder) => encoding.writeVarUint(encoder, length))
          rejection(concat([frameType.open], name))
          rejection(concat([frameType.awareness, 0], name))
        }),
      )
    })
  })

  describe('on arbitrary input', () => {
    /** Decodes or throws a malformedMessage ProtocolError; whatever decodes is a frame that survives a round trip. */
    const decodesOrRejects = (bytes: Uint8Array): void => {
      let frame: NativeFrame
      try {
        frame = decodeNativeFrame(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError)
        expect((error as ProtocolError).code).toBe('malformedMessage')
        return
      }
      expect(decodeNativeFrame(encodeNativeFrame(frame))).toEqual(frame)
    }

    it('random bytes decode or throw a ProtocolError', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), decodesOrRejects), { numRuns: 3000 })
    })

    it('random bodies after a known frame type decode or throw a ProtocolError', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 64 }), (type, body) => {
          decodesOrRejects(concat([type], body))
        }),
        { numRuns: 3000 },
      )
    })

    it('mutated valid frames decode or throw a ProtocolError', () => {
      fc.assert(
        fc.property(
          anyFrame,
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
          (frame, edits) => {
            const bytes = encodeNativeFrame(frame).slice()
            for (const [at, value] of edits) bytes[at % bytes.length] = value
            decodesOrRejects(bytes)
          },
        ),
        { numRuns: 3000 },
      )
    })
  })
})
