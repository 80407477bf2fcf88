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
})
