import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { insertAs, zeroLengthItemAfterLast } from './hostileWriter.js'

describe('the hostile updates', () => {
  it('a zero-length item after the last element makes the next honest push unreadable to a fresh reader', () => {
    const honest = new Y.Doc()
    honest.getArray('elements').push(['s1.0'])
    const hostile = zeroLengthItemAfterLast(honest, 424242)!
    Y.applyUpdate(honest, hostile)
    honest.getArray('elements').push(['s1.1'])
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(honest))
    expect(honest.getArray('elements').toArray()).toEqual(['s1.0', 's1.1'])
    expect(fresh.getArray('elements').toArray()).toEqual(['s1.0'])
    expect(fresh.store.pendingStructs).not.toBeNull()
  })

  it("clock squatting takes the victim's next clocks", () => {
    const victim = new Y.Doc()
    victim.getText('text').insert(0, 'ab')
    const squat = insertAs(victim, victim.clientID, 'xyz')
    const relay = new Y.Doc()
    Y.applyUpdate(relay, Y.encodeStateAsUpdate(victim))
    Y.applyUpdate(relay, squat)
    // The victim's real next edit has the same clocks: to the relay it looks like a repeat.
    victim.getText('text').insert(2, 'cde')
    expect(Y.getState(relay.store, victim.clientID)).toBe(Y.getState(victim.store, victim.clientID))
    expect(relay.getText('text').toString()).not.toBe(victim.getText('text').toString())
  })
})
