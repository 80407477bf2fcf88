/**
 * Property: moving a victim's squatted clocks to a new client id gives the
 * update the victim would have written under that id. For random edits
 * (text with formatting and embeds, maps, arrays, nested types, deletions
 * of its own and of others' content), the victim's update, rewritten by
 * reclaimClocks and applied on top of a document that holds a squatter's
 * other content under the same clocks (and a third writer's edits built on
 * the squatter's), shows exactly the victim's content plus the others':
 * the same document as if the victim had written under the new id.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { heldClockEnd, reclaimClocks, reclaimedClientId } from './reclaimClocks.js'

type Op =
  | { kind: 'insertText'; at: number; text: string; bold: boolean }
  | { kind: 'embed'; at: number }
  | { kind: 'format'; at: number; length: number }
  | { kind: 'deleteText'; at: number; length: number }
  | { kind: 'setMap'; key: string; value: number | string }
  | { kind: 'nestedMap'; key: string; inner: string }
  | { kind: 'deleteMap'; key: string }
  | { kind: 'insertArray'; at: number; values: number[] }
  | { kind: 'nestedArray'; at: number }
  | { kind: 'deleteArray'; at: number; length: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('insertText' as const),
    at: fc.nat(40),
    text: fc.string({ minLength: 1, maxLength: 6 }),
    bold: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('embed' as const), at: fc.nat(40) }),
  fc.record({ kind: fc.constant('format' as const), at: fc.nat(40), length: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('deleteText' as const), at: fc.nat(40), length: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    kind: fc.constant('setMap' as const),
    key: fc.constantFrom('a', 'b', 'c'),
    value: fc.oneof(fc.integer(), fc.string()),
  }),
  fc.record({
    kind: fc.constant('nestedMap' as const),
    key: fc.constantFrom('a', 'n'),
    inner: fc.string({ maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('deleteMap' as const), key: fc.constantFrom('a', 'b', 'n') }),
  fc.record({
    kind: fc.constant('insertArray' as const),
    at: fc.nat(10),
    values: fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ kind: fc.constant('nestedArray' as const), at: fc.nat(10) }),
  fc.record({ kind: fc.constant('deleteArray' as const), at: fc.nat(10), length: fc.integer({ min: 1, max: 3 }) }),
)

const apply = (doc: Y.Doc, step: Op): void => {
  const text = doc.getText('t')
  const map = doc.getMap<unknown>('m')
  const array = doc.getArray<unknown>('a')
  switch (step.kind) {
    case 'insertText':
      text.insert(Math.min(step.at, text.length), step.text, step.bold ? { bold: true } : {})
      return
    case 'embed':
      text.insertEmbed(Math.min(step.at, text.length), { image: 'x.png' })
      return
    case 'format': {
      const at = Math.min(step.at, text.length)
      text.format(at, Math.min(step.length, text.length - at), { italic: true })
      return
    }
    case 'deleteText': {
      const at = Math.min(step.at, text.length)
      text.delete(at, Math.min(step.length, text.length - at))
      return
    }
    case 'setMap':
      map.set(step.key, step.value)
      return
    case 'nestedMap': {
      const inner = map.get(step.key)
      if (inner instanceof Y.Map) inner.set('x', step.inner)
      else {
        const created = new Y.Map<string>()
        map.set(step.key, created)
        created.set('x', step.inner)
      }
      return
    }
    case 'deleteMap':
      map.delete(step.key)
      return
    case 'insertArray':
      array.insert(Math.min(step.at, array.length), step.values)
      return
    case 'nestedArray': {
      const inner = new Y.Array<number>()
      array.insert(Math.min(step.at, array.length), [inner])
      inner.push([1, 2])
      return
    }
    case 'deleteArray': {
      const at = Math.min(step.at, array.length)
      array.delete(at, Math.min(step.length, array.length - at))
      return
    }
  }
}

/** Runs `steps` on `doc`, a transaction each, and returns the update they made (merged, as pending edits are). */
const edit = (doc: Y.Doc, steps: readonly Op[]): Uint8Array => {
  const updates: Uint8Array[] = []
  const record = (update: Uint8Array): void => void updates.push(update)
  doc.on('update', record)
  for (const step of steps) doc.transact(() => apply(doc, step))
  doc.off('update', record)
  return updates.length > 0 ? Y.mergeUpdates(updates) : new Uint8Array([0, 0])
}

const docFrom = (clientID: number, ...updates: Uint8Array[]): Y.Doc => {
  const doc = new Y.Doc()
  for (const update of updates) Y.applyUpdate(doc, update)
  // After the updates: Yjs gives a doc a new id when a remote update holds content under its own.
  doc.clientID = clientID
  return doc
}

const view = (doc: Y.Doc): unknown => ({
  text: doc.getText('t').toDelta(),
  map: doc.getMap('m').toJSON(),
  array: doc.getArray('a').toJSON(),
  stateVector: [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(([a], [b]) => a - b),
  deleted: [...Y.decodeUpdate(Y.encodeStateAsUpdate(doc)).ds.clients]
    .map(([client, ranges]) => [client, ranges.map(({ clock, len }) => [clock, len])])
    .sort(([a], [b]) => (a as number) - (b as number)),
})

const victimId = 1000
const otherId = 2000
const thirdId = 3000

describe('reclaimClocks', () => {
  it("gives the victim's edits exactly as if written under the new id, beside the squatter's", () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 6 }),
        fc.array(op, { maxLength: 6 }),
        fc.array(op, { maxLength: 6 }),
        fc.array(op, { minLength: 1, maxLength: 8 }),
        fc.array(op, { maxLength: 6 }),
        fc.array(op, { maxLength: 4 }),
        (shared, sharedOther, acknowledged, victimSteps, squatSteps, thirdSteps) => {
          // What everyone holds: the victim's and another writer's edits, all on the relay.
          const base = docFrom(victimId)
          const baseVictim = edit(base, shared)
          const baseOther = edit(docFrom(otherId, baseVictim), sharedOther)
          Y.applyUpdate(base, baseOther)
          const baseState = Y.encodeStateAsUpdate(base)

          // The victim's pending edits: some the relay holds too (their clocks were not taken), then the taken ones.
          const victim = docFrom(victimId, baseState)
          const held = edit(victim, acknowledged)
          const from = Y.getState(victim.store, victimId)
          const taken = edit(victim, victimSteps)
          const pending = Y.mergeUpdates([held, taken])
          const to = reclaimedClientId(victimId, from)

          // The same edits, had the victim written the taken ones under the new id. The same history
          // too: Yjs cleans formatting up after a remote transaction, not after a local one.
          const honest = docFrom(victimId, baseState)
          edit(honest, acknowledged)
          honest.clientID = to
          edit(honest, victimSteps)

          // A squatter writes other content under the same clocks; a third writer builds on it.
          const squatter = docFrom(victimId, baseState, held)
          const squat = edit(squatter, [...squatSteps, { kind: 'insertText', at: 0, text: 'S', bold: false }])
          const third = docFrom(thirdId, baseState, held, squat)
          const thirds = edit(third, thirdSteps)

          const relayState = Y.mergeUpdates([baseState, held, squat, thirds])
          const reclaimed = reclaimClocks(pending, { client: victimId, from, to })
          const forked = docFrom(4000, relayState, reclaimed)
          const expected = docFrom(4000, relayState, Y.encodeStateAsUpdate(honest))
          expect(view(forked)).toEqual(view(expected))
          // Nothing of the victim's remains at the taken clocks, and nothing waits for a missing struct.
          expect(heldClockEnd(reclaimed, victimId) ?? 0).toBeLessThanOrEqual(from)
          expect(forked.store.pendingStructs).toBeNull()
          // Applied in the other order, the same document.
          expect(view(docFrom(4000, reclaimed, relayState))).toEqual(view(forked))
        },
      ),
      { numRuns: 300 },
    )
  })

  it("moves another tab's edits built on the taken clocks, once a fork moved those clocks already", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 8 }),
        fc.array(op, { minLength: 1, maxLength: 6 }),
        fc.array(op, { maxLength: 6 }),
        (victimSteps, tabSteps, squatSteps) => {
          // The victim writes offline; another tab of the device, with the victim's edits, writes on top.
          const victim = docFrom(victimId)
          const taken = edit(victim, victimSteps)
          const tab = docFrom(otherId, taken)
          const tabEdits = edit(tab, tabSteps)
          const to = reclaimedClientId(victimId, 0)
          // The first tab's fork moved the victim's edits; the second tab forks later, on that record
          // and its own edits since.
          const first = reclaimClocks(taken, { client: victimId, from: 0, to })
          const second = reclaimClocks(Y.mergeUpdates([first, tabEdits]), { client: victimId, from: 0, to })

          const honest = docFrom(to)
          edit(honest, victimSteps)
          const honestTab = docFrom(otherId, Y.encodeStateAsUpdate(honest))
          edit(honestTab, tabSteps)

          const squat = edit(docFrom(victimId), [...squatSteps, { kind: 'insertText', at: 0, text: 'S', bold: false }])
          const forked = docFrom(4000, squat, second)
          const expected = docFrom(4000, squat, Y.encodeStateAsUpdate(honestTab))
          expect(forked.store.pendingStructs).toBeNull()
          expect(view(forked)).toEqual(view(expected))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('moves edits it holds both at the taken clocks and moved already once, not twice', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 8 }),
        fc.array(op, { maxLength: 6 }),
        fc.array(op, { maxLength: 6 }),
        (victimSteps, laterSteps, squatSteps) => {
          // Another tab's fork (or one cut short here) stored the victim's edits moved, beside the old
          // record; this replica forks from both, and from the edits it made under the old id since.
          const victim = docFrom(victimId)
          const taken = edit(victim, victimSteps)
          const later = edit(victim, laterSteps)
          const move = { client: victimId, from: 0, to: reclaimedClientId(victimId, 0) }
          const movedBefore = reclaimClocks(taken, move)
          const moved = reclaimClocks(Y.mergeUpdates([taken, movedBefore, later]), move)

          const honest = docFrom(move.to)
          edit(honest, victimSteps)
          edit(honest, laterSteps)
          const squat = edit(docFrom(victimId), [...squatSteps, { kind: 'insertText', at: 0, text: 'S', bold: false }])
          const forked = docFrom(4000, squat, moved)
          expect(forked.store.pendingStructs).toBeNull()
          expect(view(forked)).toEqual(view(docFrom(4000, squat, Y.encodeStateAsUpdate(honest))))
          // With the moved record the other tab sent the relay: still the same document.
          expect(view(docFrom(4000, squat, movedBefore, moved))).toEqual(view(forked))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('changes nothing in an update that holds no taken clock', () => {
    const doc = docFrom(victimId)
    const update = edit(doc, [{ kind: 'insertText', at: 0, text: 'abc', bold: true }])
    const moved = reclaimClocks(update, { client: victimId, from: 10, to: 7 })
    expect(view(docFrom(1, moved))).toEqual(view(docFrom(1, update)))
  })

  it('gives every replica that moves the same clocks the same new id', () => {
    expect(reclaimedClientId(victimId, 12)).toBe(reclaimedClientId(victimId, 12))
    expect(reclaimedClientId(victimId, 12)).not.toBe(reclaimedClientId(victimId, 13))
    expect(reclaimedClientId(victimId, 12)).not.toBe(victimId)
  })
})
