import fc from 'fast-check'
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import { ProtocolError } from './errors.js'
import { decodeNativeFrame, encodeNativeFrame, historyFrameCodec } from './historyFrames.js'
import {
  decodeNativeFrameWith,
  encodeNativeFrameWith,
  frameType,
  isNativeSubprotocol,
  nativeSubprotocols,
  nativeSubprotocolV3,
  type NativeFrame,
} from './native.js'
import { bytesOf, concat, nanVarUint, outcome, rejectionBy } from './test/decodingCases.js'
import { versionRootKinds, type VersionRequest, type WireVersion } from './versionFrames.js'

const decodeV3 = (bytes: Uint8Array): NativeFrame => decodeNativeFrame(bytes, nativeSubprotocolV3)
const rejection = rejectionBy(decodeV3)

const text = fc.string({ unit: 'binary', maxLength: 40 })
const nat = fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, 1, 127, 128, 2 ** 32, Number.MAX_SAFE_INTEGER))
const request: fc.Arbitrary<VersionRequest> = fc.oneof(
  fc.record({ op: fc.constant('saveVersion'), label: text }),
  fc.record({ op: fc.constant('listVersions'), before: fc.option(text, { nil: undefined }), limit: nat }),
  fc.record({ op: fc.constant('loadVersion'), version: text }),
  fc.record({
    op: fc.constant('restoreVersion'),
    version: text,
    kinds: fc.array(fc.record({ root: text, kind: fc.constantFrom(...versionRootKinds) }), { maxLength: 4 }),
  }),
)
const version: fc.Arbitrary<WireVersion> = fc.record(
  {
    id: text,
    createdAt: nat,
    label: text,
    authors: fc.array(text, { maxLength: 3 }),
    restoredFrom: text,
    bytes: nat,
  },
  { requiredKeys: ['id', 'createdAt', 'authors', 'bytes'] },
)
const historyFrame: fc.Arbitrary<NativeFrame> = fc.oneof(
  fc.record({ type: fc.constant('request'), doc: text, id: nat, request }),
  fc.record({
    type: fc.constant('answer'),
    doc: text,
    id: nat,
    versions: fc.array(version, { maxLength: 3 }),
    state: fc.uint8Array({ maxLength: 40 }),
  }),
  fc.record({ type: fc.constant('failed'), doc: text, id: nat, code: nat, error: text, message: text }),
)

describe('history frames (concord.v3)', () => {
  it('are selected by concord.v3, which a client offers before concord.v2', () => {
    expect(nativeSubprotocols).toEqual(['concord.v3', 'concord.v2'])
    expect(isNativeSubprotocol('concord.v3')).toBe(true)
    expect(isNativeSubprotocol('concord.v2')).toBe(true)
    expect(isNativeSubprotocol('concord.v4')).toBe(false)
  })

  it('round trip: decode(encode(frame)) is the frame', () => {
    fc.assert(
      fc.property(historyFrame, (frame) => {
        expect(decodeV3(encodeNativeFrame(frame))).toEqual(frame)
      }),
      { numRuns: 500 },
    )
  })

  it('keep this byte layout', () => {
    const hex = (frame: NativeFrame): string => Buffer.from(encodeNativeFrame(frame)).toString('hex')
    expect(hex({ type: 'request', doc: 'a', id: 1, request: { op: 'saveVersion', label: 'v1' } })).toBe(
      '0c01610100027631',
    )
    expect(hex({ type: 'request', doc: 'a', id: 2, request: { op: 'listVersions', limit: 50 } })).toBe('0c016102010032')
    expect(
      hex({
        type: 'request',
        doc: 'a',
        id: 3,
        request: { op: 'restoreVersion', version: 'x', kinds: [{ root: 'b', kind: 'array' }] },
      }),
    ).toBe('0c0161030301780101620' + '2')
    expect(
      hex({
        type: 'answer',
        doc: 'a',
        id: 1,
        versions: [{ id: 'x', createdAt: 5, label: 'v1', authors: ['u'], bytes: 9 }],
        state: Uint8Array.of(),
      }),
    ).toBe('0d016101' + '01' + '0178' + '05' + '01' + '027631' + '01' + '0175' + '00' + '09' + '00')
    expect(hex({ type: 'failed', doc: 'a', id: 1, code: 4404, error: 'e', message: 'm' })).toBe(
      '0e016101b42201650' + '16d',
    )
  })

  it('are unknown frame types in concord.v2, the default', () => {
    const bytes = encodeNativeFrame({ type: 'request', doc: 'a', id: 1, request: { op: 'saveVersion', label: 'v' } })
    expect(outcome(() => decodeNativeFrame(bytes))).toBe('malformedMessage: unknown frame type 12')
    expect(outcome(() => decodeV3(concat([15, 0])))).toBe('malformedMessage: unknown frame type 15')
  })

  it('need the history codec: without it (a client that never asks) they neither decode nor encode', () => {
    const frame: NativeFrame = { type: 'request', doc: 'a', id: 1, request: { op: 'saveVersion', label: 'v' } }
    const bytes = encodeNativeFrame(frame)
    expect(encodeNativeFrameWith(frame, historyFrameCodec)).toEqual(bytes)
    expect(decodeNativeFrameWith(bytes, nativeSubprotocolV3, historyFrameCodec)).toEqual(frame)
    const without = 'malformedMessage: a history frame, and no history codec to read or write it'
    expect(outcome(() => decodeNativeFrameWith(bytes, nativeSubprotocolV3))).toBe(without)
    expect(outcome(() => encodeNativeFrameWith(frame))).toBe(without)
    // Every other frame is the same bytes either way.
    const ack: NativeFrame = { type: 'ack', doc: 'a', seq: 3 }
    expect(decodeNativeFrameWith(encodeNativeFrameWith(ack), nativeSubprotocolV3)).toEqual(ack)
  })

  it('reject an unknown operation, root kind or flag, an unsafe id, and every truncation', () => {
    expect(rejection(Uint8Array.of(frameType.request, 0, 1, 4)).message).toBe('unknown version operation 4')
    expect(rejection(Uint8Array.of(frameType.request, 0, 1, 3, 0, 1, 0, 4)).message).toBe('unknown root kind 4')
    expect(rejection(Uint8Array.of(frameType.request, 0, 1, 1, 2, 0)).message).toBe('unknown before flag 2')
    rejection(concat([frameType.request, 0], nanVarUint, [0, 0]))
    // A count far past what the frame holds is refused without a long loop.
    rejection(
      concat(
        [frameType.answer, 0, 1],
        bytesOf((e) => encoding.writeVarUint(e, 2 ** 40)),
        [0],
      ),
    )
    fc.assert(
      fc.property(historyFrame, (frame) => {
        const bytes = encodeNativeFrame(frame)
        for (let length = 0; length < bytes.length; length++) rejection(bytes.subarray(0, length))
      }),
      { numRuns: 200 },
    )
  })

  it('on mutated or random input decode or throw a malformedMessage ProtocolError', () => {
    const decodesOrRejects = (bytes: Uint8Array): void => {
      let frame: NativeFrame
      try {
        frame = decodeV3(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError)
        expect((error as ProtocolError).code).toBe('malformedMessage')
        return
      }
      expect(decodeV3(encodeNativeFrame(frame))).toEqual(frame)
    }
    fc.assert(
      fc.property(fc.integer({ min: 12, max: 14 }), fc.uint8Array({ maxLength: 64 }), (type, body) =>
        decodesOrRejects(concat([type], body)),
      ),
      { numRuns: 3000 },
    )
    fc.assert(
      fc.property(
        historyFrame,
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
