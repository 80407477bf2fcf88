import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { canonicalOf } from './canonicalState.js'
import { RootTypeError, VersionStateError } from './errors.js'
import { VersionStates } from './versionStates.js'

/** A document written in `steps` transactions, each one update; and its state as one update. */
const written = (steps: number): { updates: Uint8Array[]; merged: Uint8Array } => {
  const doc = new Y.Doc()
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (let step = 0; step < steps; step++) doc.getText('body').insert(0, `step ${step} `)
  doc.getMap('meta').set('title', 'notes')
  return { updates, merged: Y.encodeStateAsUpdate(doc) }
}

describe('versions’ states computed on the version worker', () => {
  it('are those computed in process, from the merged state or from its parts, views into larger buffers included', async () => {
    const states = new VersionStates()
    try {
      const { updates, merged } = written(40)
      const expected = canonicalOf(merged)
      // As the room holds them: the state as last merged, then updates that view into a socket frame.
      const frame = new Uint8Array(64 * 1024)
      const tail = updates.slice(30).map((update, index) => {
        const at = 1_000 * (index + 1)
        frame.set(update, at)
        return frame.subarray(at, at + update.byteLength)
      })
      const parts = [Y.mergeUpdates(updates.slice(0, 30)), ...tail]
      for (const held of [[merged], parts, updates]) {
        const computed = await states.canonicalOf(held)
        expect(computed.contentId).toBe(expected.contentId)
        expect(computed.state).toEqual(expected.state)
      }
      // Copied to the worker, never transferred away from the room.
      expect(frame.byteLength).toBe(64 * 1024)
      expect(parts[0]!.byteLength).toBeGreaterThan(0)
    } finally {
      await states.close()
    }
  })

  it('reject updates that do not decode with VersionStateError, and the worker goes on serving', async () => {
    const states = new VersionStates()
    try {
      const error = await states.canonicalOf([new Uint8Array([1, 200, 3, 4])]).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(VersionStateError)
      expect((error as VersionStateError).code).toBe('versionStateFailed')
      const { merged } = written(3)
      expect((await states.canonicalOf([merged])).contentId).toBe(canonicalOf(merged).contentId)
    } finally {
      await states.close()
    }
  })

  it('are served by a worker started afresh once the idle one has ended', async () => {
    const states = new VersionStates(10)
    try {
      const { merged } = written(5)
      const first = await states.canonicalOf([merged])
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await states.canonicalOf([merged])).toEqual(first)
    } finally {
      await states.close()
    }
  })

  it('reject what is pending, and every later request, once closed', async () => {
    const states = new VersionStates()
    const { merged } = written(200)
    const pending = states.canonicalOf([merged]).catch((error: unknown) => error)
    await states.close()
    expect(await pending).toBeInstanceOf(VersionStateError)
    await expect(states.canonicalOf([merged])).rejects.toBeInstanceOf(VersionStateError)
  })
})

describe('restores’ edits computed on the version worker', () => {
  it('make the live document’s content the version’s, none when they are the same, and refuse a root of two kinds', async () => {
    const states = new VersionStates()
    try {
      const { merged: version } = written(3)
      const { updates } = written(8)
      // The room's own document: another writer's, with more text.
      const live = new Y.Doc()
      updates.forEach((update) => Y.applyUpdate(live, update))
      const edit = await states.restoreEditOf(updates, version, {})
      expect(edit).toBeInstanceOf(Uint8Array)
      Y.applyUpdate(live, edit!)
      const expected = new Y.Doc()
      Y.applyUpdate(expected, version)
      expect(live.getText('body').toString()).toBe(expected.getText('body').toString())
      expect(live.getMap('meta').toJSON()).toEqual({ title: 'notes' })
      expect(await states.restoreEditOf([Y.encodeStateAsUpdate(live)], version, {})).toBeUndefined()
      const error = await states.restoreEditOf(updates, version, { body: 'map' }).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(RootTypeError)
      expect(error).toMatchObject({
        code: 'rootTypeUnknown',
        root: 'body',
        reason: 'named map, but its content is text',
      })
    } finally {
      await states.close()
    }
  })
})
