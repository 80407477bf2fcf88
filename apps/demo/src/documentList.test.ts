import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { DocumentList } from './documentList.js'

describe('DocumentList', () => {
  it('lists the entries of the right shape and skips the others, never throwing on them', () => {
    const doc = new Y.Doc()
    const list = new DocumentList(doc)
    const good = list.create('Good one')
    const entries = doc.getMap<unknown>('documents')
    entries.set('doc-bigint', { title: 'BigInt', createdAt: 10n })
    entries.set('doc-string', 'just a string')
    entries.set('doc-untitled', { title: 42, createdAt: 1 })
    entries.set('doc-nan', { title: 'NaN', createdAt: Number.NaN })
    entries.set('doc-shared', new Y.Map())
    const { entries: shown, skipped } = list.all()
    expect(shown.map((entry) => entry.id)).toEqual([good])
    expect(skipped).toEqual([
      { id: 'doc-bigint', problem: 'its creation time is a bigint' },
      { id: 'doc-nan', problem: 'its creation time is a number' },
      { id: 'doc-shared', problem: 'a shared type where an entry should be' },
      { id: 'doc-string', problem: 'a string where an entry should be' },
      { id: 'doc-untitled', problem: 'its title is a number' },
    ])
    expect(list.title('doc-bigint')).toBeUndefined()
    // Renaming an entry of the wrong shape writes it whole.
    list.rename('doc-bigint', 'Repaired')
    expect(list.title('doc-bigint')).toBe('Repaired')
    expect(list.all().entries.map((entry) => entry.title)).toEqual(['Good one', 'Repaired'])
  })
})
