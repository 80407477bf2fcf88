import { decodeNativeFrame, decodeYWebsocketMessage } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { WholeStateFrames } from './roomFrames.js'

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
