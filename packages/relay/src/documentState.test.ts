import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocumentState } from './documentState.js'

const typing = (text: string, clientID = 1): Uint8Array[] => {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  for (const [i, char] of [...text].entries()) doc.getText('t').insert(i, char)
  return updates
}

const textOf = (update: Uint8Array, base?: Y.Doc): string => {
  const doc = base ?? new Y.Doc()
  Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

describe('DocumentState', () => {
  it('serves what was stored plus what was added', () => {
    const updates = typing('hello world')
    const state = new DocumentState(updates.slice(0, 5))
    for (const update of updates.slice(5)) state.add(update)
    expect(textOf(state.merge())).toBe('hello world')
  })

  it('asks for a merge once the tail is both N updates long and a quarter of the merged document', () => {
    // A large document: 4,000 random characters in one stored update.
    const big = new Y.Doc()
    big.clientID = 1
    big
      .getText('t')
      .insert(0, Array.from({ length: 4_000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join(''))
    const state = new DocumentState([Y.encodeStateAsUpdate(big)], 10)
    const mergedBytes = state.mergedBytes
    expect(mergedBytes).toBeGreaterThan(4_000)
    const tail = typing('x'.repeat(2_000), 2)
    let asked = -1
    let tailBytes = 0
    for (const [i, update] of tail.entries()) {
      tailBytes += update.byteLength
      if (state.add(update)) {
        asked = i
        break
      }
    }
    // Not at the 10th update: only once the tail reached a quarter of the document.
    expect(asked).toBeGreaterThan(10)
    expect(tailBytes).toBeGreaterThanOrEqual(mergedBytes / 4)
    expect(tailBytes - tail[asked]!.byteLength).toBeLessThan(mergedBytes / 4)
    // Asked once until the merge.
    expect(state.add(tail[asked + 1]!)).toBe(false)
    state.merge()
    expect(state.mergedBytes).toBeGreaterThan(mergedBytes)

    // A small document asks at the 10th update.
    const small = new DocumentState([], 10)
    expect(typing('abcdefghij', 3).map((update) => small.add(update))).toEqual([...Array(9).fill(false), true])
  })

  it('answers a newcomer with the whole state and a peer with only what it lacks', () => {
    const updates = typing('abcdef')
    const state = new DocumentState(updates)
    const empty = Y.encodeStateVector(new Y.Doc())
    expect(state.diff(empty)).toBe(state.merge())

    const peer = new Y.Doc()
    for (const update of updates.slice(0, 3)) Y.applyUpdate(peer, update)
    const missing = state.diff(Y.encodeStateVector(peer))
    expect(missing.length).toBeLessThan(state.merge().length)
    expect(textOf(missing, peer)).toBe('abcdef')
  })

  it('merges once for a join storm: the state and its vector are cached until the next update', () => {
    const state = new DocumentState(typing('cached'))
    const merged = state.merge()
    const vector = state.stateVector()
    for (let i = 0; i < 50; i++) {
      expect(state.merge()).toBe(merged)
      expect(state.stateVector()).toBe(vector)
    }
    state.add(typing('!', 2)[0]!)
    expect(state.stateVector()).not.toBe(vector)
    expect(textOf(state.merge())).toMatch(/^(cached!|!cached)$/)
  })

  it('asks for a background merge once the tail reaches its limit', () => {
    const state = new DocumentState([], 4)
    const asks = typing('abcdefgh').map((update) => state.add(update))
    expect(asks).toEqual([false, false, false, true, false, false, false, false])
    state.merge()
    expect(typing('ijkl', 3).map((update) => state.add(update))).toEqual([false, false, true, false])
  })

  it('is empty for a new document', () => {
    const state = new DocumentState([])
    expect(state.stateVector()).toEqual(Y.encodeStateVector(new Y.Doc()))
    expect(textOf(state.diff(state.stateVector()))).toBe('')
  })
})
