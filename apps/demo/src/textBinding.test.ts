import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { contentNotShown, editorTextOf } from './textBinding.js'

describe('the editor text of a Y.Text', () => {
  it('is its strings, with one placeholder per object, as long as the Y.Text', () => {
    const text = new Y.Doc().getText('body')
    text.insert(0, 'ab')
    text.insertEmbed(1, { image: 'http://198.51.100.7/x.png' })
    text.insert(3, 'bold', { bold: { of: ['an', 'unknown', 'shape'] } })
    text.insertEmbed(text.length, new Y.Map())
    expect(editorTextOf(text)).toBe('a\uFFFCbbold\uFFFC')
    expect(editorTextOf(text).length).toBe(text.length)
    expect(contentNotShown(text)).toEqual({ objects: 2, formatted: true })
    const plain = new Y.Doc().getText('body')
    plain.insert(0, 'plain')
    expect(contentNotShown(plain)).toEqual({ objects: 0, formatted: false })
  })

  it('keeps a placeholder for every unit of content no delta shows (Y.Array content forged into the text)', () => {
    const doc = new Y.Doc()
    const text = doc.getText('body')
    text.insert(0, 'hi')
    const forger = new Y.Doc()
    forger.getArray('body').push(['x', 1, { o: 1 }])
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(forger))
    expect(text.length).toBe(5)
    expect(editorTextOf(text).length).toBe(5)
    expect(editorTextOf(text).replaceAll('\uFFFC', '')).toBe('hi')
    expect(contentNotShown(text)).toEqual({ objects: 3, formatted: false })
  })

  it('matches Y.Text.insert positions, which count forged content, so local inserts land where they are shown', () => {
    const doc = new Y.Doc()
    const text = doc.getText('body')
    const forger = new Y.Doc()
    forger.getArray('body').push(['x'])
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(forger))
    text.insert(1, 'hello')
    const shown = editorTextOf(text)
    expect(shown).toBe('\uFFFChello')
    // Inserting at the editor's position 5 (before the "o") does so in the text too.
    text.insert(5, '!')
    expect(editorTextOf(text)).toBe('\uFFFChell!o')
  })
})
