import { describe, expect, it } from 'vitest'
import { isLongTail } from './longTail.js'

describe('isLongTail', () => {
  it('is long once the tail has both the updates asked for and a quarter of the merged bytes', () => {
    expect(isLongTail({ updates: 10, bytes: 250 }, 1000, 10)).toBe(true)
    expect(isLongTail({ updates: 11, bytes: 900 }, 1000, 10)).toBe(true)
  })

  it('is short with too few updates, however many bytes they hold', () => {
    expect(isLongTail({ updates: 9, bytes: 10_000 }, 1000, 10)).toBe(false)
  })

  it('is short with less than a quarter of the merged bytes, however many updates', () => {
    expect(isLongTail({ updates: 10_000, bytes: 249 }, 1000, 10)).toBe(false)
  })

  it('is long at the count alone for a document not merged yet', () => {
    expect(isLongTail({ updates: 3, bytes: 0 }, 0, 3)).toBe(true)
    expect(isLongTail({ updates: 2, bytes: 0 }, 0, 3)).toBe(false)
  })
})
