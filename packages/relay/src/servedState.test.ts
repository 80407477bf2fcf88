import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { servedState } from './servedState.js'

const textOf = (update: Uint8Array): string => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

describe('servedState', () => {
  it('serves the first of two rows with other content under one id, as a load does, whichever Yjs would pick', () => {
    const victim = new Y.Doc()
    victim.clientID = 7
    victim.getText('t').insert(0, 'hello')
    const base = Y.encodeStateAsUpdate(victim)
    const before = Y.encodeStateVector(victim)
    victim.getText('t').insert(5, ' world')
    const real = Y.encodeStateAsUpdate(victim, before)
    // A squatter wrote more, under the same client id and clocks, on another relay.
    const squatter = new Y.Doc()
    Y.applyUpdate(squatter, base)
    squatter.clientID = 7
    squatter.getText('t').insert(5, ' evil and longer')
    const squat = Y.encodeStateAsUpdate(squatter, before)

    expect(textOf(servedState([base, real, squat])!)).toBe('hello world')
    expect(textOf(servedState([base, squat, real])!)).toBe('hello evil and longer')
    // A plain merge mixes them (the first's clocks, the other's past them): text no relay serves.
    expect(textOf(Y.mergeUpdates([base, real, squat]))).toBe('hello worldand longer')
    expect(servedState([])).toBeUndefined()
  })
})
