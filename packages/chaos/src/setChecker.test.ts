import { describe, expect, it } from 'vitest'
import { checkSet } from './setChecker.js'

describe('checkSet', () => {
  const attempted = new Set(['a', 'b', 'c', 'd', 'e'])

  it('counts lost, lost committed, unexpected and recovered elements', () => {
    const check = checkSet({ attempted, committed: new Set(['a', 'b', 'c']), acknowledged: new Set(['a', 'b']) }, [
      'b',
      'c',
      'd',
      'x',
      'c',
    ])
    expect(check).toEqual({
      attempted: 5,
      acknowledged: 2,
      committed: 3,
      lost: ['a'],
      lostCommitted: [],
      unexpected: ['x', 'c'],
      recovered: 2,
    })
  })

  it('counts a committed write that is missing as lost committed', () => {
    const check = checkSet({ attempted, committed: new Set(['a', 'e']), acknowledged: new Set() }, ['a'])
    expect(check.lostCommitted).toEqual(['e'])
    expect(check.lost).toEqual([])
    expect(check.recovered).toBe(1)
  })

  it('passes a final state that holds every acknowledged write once', () => {
    const check = checkSet({ attempted, committed: attempted, acknowledged: attempted }, [...attempted])
    expect([check.lost, check.lostCommitted, check.unexpected, check.recovered]).toEqual([[], [], [], 0])
  })
})
