import { describe, expect, it } from 'vitest'
import { KnownClocks } from './knownClocks.js'

const range = (client: number, start: number, end: number) => ({ client, start, end })

describe('KnownClocks', () => {
  it('knows the first missing clock of each client, and joins runs as gaps fill', () => {
    const known = new KnownClocks([range(1, 0, 5), range(2, 3, 6)])
    expect(known.next(1)).toBe(5)
    expect(known.next(2)).toBe(0)
    expect(known.next(3)).toBe(0)
    known.add([range(2, 0, 3)])
    expect(known.next(2)).toBe(6)
    known.add([range(1, 8, 10), range(1, 12, 14)])
    expect(known.next(1)).toBe(5)
    known.add([range(1, 5, 12)])
    expect(known.next(1)).toBe(14)
  })

  it('tells which parts of some ranges are held', () => {
    const known = new KnownClocks([range(1, 0, 5), range(1, 10, 20), range(2, 0, 3)])
    expect(known.held([range(1, 3, 12)])).toEqual([range(1, 3, 5), range(1, 10, 12)])
    expect(known.held([range(1, 5, 10), range(2, 3, 4), range(3, 0, 9)])).toEqual([])
    expect(known.held([range(1, 0, 30)])).toEqual([range(1, 0, 5), range(1, 10, 20)])
  })

  it('tells whether a clock is held, and the first clock from one on that is not', () => {
    const known = new KnownClocks([range(1, 0, 5), range(1, 8, 10)])
    expect([0, 4, 5, 7, 8, 9, 10].map((clock) => known.holds(1, clock))).toEqual([
      true,
      true,
      false,
      false,
      true,
      true,
      false,
    ])
    expect([0, 3, 5, 8, 9, 12].map((clock) => known.firstUnheld(1, clock))).toEqual([5, 5, 5, 10, 10, 12])
    expect(known.holds(2, 0)).toBe(false)
    expect(known.firstUnheld(2, 3)).toBe(3)
  })

  it('gives a state vector of the first missing clocks of the clients asked for', () => {
    const known = new KnownClocks([range(1, 0, 5), range(2, 4, 6)])
    expect(known.stateVectorFor([range(1, 7, 9), range(2, 0, 1)])).toEqual(
      new Map([
        [1, 5],
        [2, 0],
      ]),
    )
  })

  it('copies: the copy and the original change apart', () => {
    const known = new KnownClocks([range(1, 0, 5)])
    const copy = known.copy()
    copy.add([range(1, 5, 8), range(2, 0, 1)])
    known.add([range(1, 10, 12)])
    expect([known.next(1), known.holds(1, 10), known.holds(2, 0)]).toEqual([5, true, false])
    expect([copy.next(1), copy.holds(1, 10), copy.holds(2, 0)]).toEqual([8, false, true])
  })
})
