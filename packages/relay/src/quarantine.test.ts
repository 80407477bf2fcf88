import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { admitLog, mergeSettingAside, type SetAside } from './quarantine.js'

/** Client 7 types `parts` in turn; one update per part. */
const typed = (...parts: string[]): Uint8Array[] => {
  const doc = new Y.Doc()
  doc.clientID = 7
  return parts.map((part) => {
    const before = Y.encodeStateVector(doc)
    doc.getText('t').insert(doc.getText('t').length, part)
    return Y.encodeStateAsUpdate(doc, before)
  })
}

const textOf = (update: Uint8Array | undefined): string => {
  const doc = new Y.Doc()
  if (update) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

describe('admitLog', () => {
  it('keeps the first of two contradicting updates in log order and sets the later aside', () => {
    const [first, gap, x] = typed('aa', 'bbb', 'XX')
    const y = typed('aa', 'bbb', 'YY')[2]!
    const { updates, setAside, known } = admitLog([first!, x!, y, gap!])
    expect(setAside.map(({ index, reason }) => [index, reason.includes('contradicts')])).toEqual([[2, true]])
    expect(textOf(mergeSettingAside(updates, () => {}))).toBe('aabbbXX')
    expect(known.next(7)).toBe(7)
  })

  it('drops repeats without setting them aside, and sets aside what does not decode', () => {
    const [first, second] = typed('ab', 'cd')
    const { updates, setAside } = admitLog([first!, second!, first!, Uint8Array.of(9, 9, 9)])
    expect(updates).toHaveLength(2)
    expect(setAside.map(({ index }) => index)).toEqual([3])
  })
})

describe('mergeSettingAside', () => {
  it('merges one at a time when the merge throws, leaving out each update that breaks it', () => {
    const [first, second] = typed('ab', 'cd')
    const broken = Uint8Array.of(1, 1, 0xff, 0xff, 0xff)
    const aside: SetAside[] = []
    expect(textOf(mergeSettingAside([first!, broken, second!], (each) => aside.push(each)))).toBe('abcd')
    expect(aside.map(({ index }) => index)).toEqual([1])
    expect(mergeSettingAside([], () => {})).toBeUndefined()
  })
})
