import { decodeNativeFrame, decodeYWebsocketMessage } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeFor, forwardableFrame, WholeStateFrames } from './roomFrames.js'

const stateOf = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('the whole state’s step 2 frames of a room', () => {
  it('are one Buffer per state and wire mode, for every joiner, and a new one once the state changes', () => {
    const frames = new WholeStateFrames('notes')
    try {
      const state = stateOf('hello')
      const first = frames.step2('y-websocket', state)
      expect(Buffer.isBuffer(first)).toBe(true)
      expect(frames.step2('y-websocket', state)).toBe(first)
      expect(decodeYWebsocketMessage(first)).toEqual({ type: 'sync', sync: { type: 'step2', update: state } })
      const native = frames.step2('native', state)
      expect(frames.step2('native', state)).toBe(native)
      expect(decodeNativeFrame(native)).toMatchObject({
        type: 'sync',
        doc: 'notes',
        sync: { type: 'step2', update: state },
      })
      const next = stateOf('hello, world')
      const changed = frames.step2('y-websocket', next)
      expect(changed).not.toBe(first)
      expect(decodeYWebsocketMessage(changed)).toEqual({ type: 'sync', sync: { type: 'step2', update: next } })
      frames.clear()
      expect(frames.step2('y-websocket', next)).not.toBe(changed)
    } finally {
      frames.clear()
    }
  })
})

describe('forwarding the frame an update came in', () => {
  const updateFrame = (update: Uint8Array): Buffer =>
    encodeFor('y-websocket', 'notes', { type: 'sync', sync: { type: 'update', update } })

  it('is that very frame when encoding the update again would give its bytes, short or long', () => {
    for (const update of [stateOf('hi'), stateOf('x'.repeat(200)), stateOf('y'.repeat(20_000))]) {
      const received = Buffer.from(updateFrame(update))
      expect(forwardableFrame(received, new Uint8Array(update))).toBe(received)
      // A Uint8Array comes back as a Buffer over the same bytes.
      const plain = new Uint8Array(received)
      const frame = forwardableFrame(plain, update)
      expect(Buffer.isBuffer(frame) && frame.buffer === plain.buffer).toBe(true)
    }
  })

  it('is nothing when the room keeps other bytes, or the frame is not exactly the update message', () => {
    const update = stateOf('hello')
    const received = updateFrame(update)
    // Admission kept part of it (a repeat trimmed), or other bytes of the same length.
    expect(forwardableFrame(received, stateOf('hell'))).toBeUndefined()
    const changed = new Uint8Array(update)
    changed[changed.length - 1] = changed.at(-1)! ^ 1
    expect(forwardableFrame(received, changed)).toBeUndefined()
    // A step 2 is forwarded as an update: re-encoded.
    const step2 = encodeFor('y-websocket', 'notes', { type: 'sync', sync: { type: 'step2', update } })
    expect(forwardableFrame(step2, update)).toBeUndefined()
    // The length in a longer form than lib0 writes, or bytes after the update.
    const longLength = Buffer.concat([Buffer.from([0, 2, 0x80 | update.length, 0]), update])
    expect(decodeYWebsocketMessage(longLength)).toEqual({ type: 'sync', sync: { type: 'update', update } })
    expect(forwardableFrame(longLength, update)).toBeUndefined()
    expect(forwardableFrame(Buffer.concat([received, Buffer.from([0])]), update)).toBeUndefined()
    expect(forwardableFrame(undefined, update)).toBeUndefined()
  })
})
