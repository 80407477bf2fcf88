// @vitest-environment happy-dom
/**
 * What other writers send the notes app, checked before it is shown:
 * presence (names, colours, cursor shapes), the shared index of notes, and
 * what the schema keeps out.
 */
import { describe, expect, it } from 'vitest'
import { DOMParser as ProseMirrorParser } from 'prosemirror-model'
import { yXmlFragmentToProseMirrorRootNode } from 'y-prosemirror'
import * as Y from 'yjs'
import { cleanTitle, isNoteId, maxTitleLength, noteEntries } from './documentIndex.js'
import { noteSchema } from './editorSchema.js'
import { cursorFilter, cursorOf, selectionOf } from './remoteCursors.js'
import { cleanName, isColor, maxNameLength, parsePresence } from './user.js'

const cursor = {
  anchor: { type: { client: 1, clock: 0 }, tname: null, item: null, assoc: 0 },
  head: { type: null, tname: 'body', item: { client: 1, clock: 3 }, assoc: -1 },
}

describe('presence from other users', () => {
  it('keeps a user with a bounded name and a #rrggbb colour, and nobody else', () => {
    expect(parsePresence({ user: { name: ' Ada ', color: '#1d4ed8' } })).toEqual({ name: 'Ada', color: '#1d4ed8' })
    for (const color of ['red', '#fff', '#1d4ed8; background: url(https://evil)', 'url(x)', '#1d4ed8 ', 7]) {
      expect(parsePresence({ user: { name: 'Ada', color } })).toBeUndefined()
    }
    for (const name of ['', '   ', 42, { toString: () => 'x' }, null, '\u0000\u0007']) {
      expect(parsePresence({ user: { name, color: '#1d4ed8' } })).toBeUndefined()
    }
    expect(parsePresence({ user: 'Ada' })).toBeUndefined()
    expect(parsePresence({})).toBeUndefined()
  })

  it('bounds names and removes control and bidi-override characters', () => {
    expect(cleanName('x'.repeat(100_000))).toHaveLength(maxNameLength)
    expect(cleanName('Ev\u202eil\u0000 name\n')).toBe('Evil name')
    expect([...cleanName('😀'.repeat(100))!]).toHaveLength(maxNameLength)
    expect(isColor('#A0b1C2')).toBe(true)
  })

  it('draws a cursor whose name is text and whose colour is checked, whatever was sent', () => {
    const hostile = cursorOf({
      name: '<img src=x onerror=alert(1)>',
      color: 'red; background-image: url(https://evil)',
    })
    expect(hostile.querySelector('img')).toBeNull()
    expect(hostile.textContent).toContain('<img src=x onerror=alert(1)>')
    expect(hostile.getAttribute('style')).not.toContain('evil')
    expect(cursorOf({ name: 'Ada', color: '#1d4ed8' }).style.borderColor).not.toBe('')
    expect(cursorOf(undefined).textContent).toContain('Someone')
    expect(selectionOf({ color: '#1d4ed8' }).style).toBe('background-color: #1d4ed833')
    expect(selectionOf({ color: '#1d4ed8; x: y' }).style).toBe('background-color: #6b728033')
  })

  it('draws only cursors shaped as two relative positions', () => {
    expect(cursorFilter(1, 2, { cursor })).toBe(true)
    expect(cursorFilter(1, 2, {})).toBe(true)
    expect(cursorFilter(1, 1, { cursor })).toBe(false)
    for (const bad of [
      'here',
      { anchor: cursor.anchor },
      { anchor: cursor.anchor, head: { item: { client: 'x', clock: 1 } } },
      { anchor: cursor.anchor, head: { item: { client: 1, clock: 1e300 } } },
      { anchor: cursor.anchor, head: { tname: 7 } },
    ]) {
      expect(cursorFilter(1, 2, { cursor: bad })).toBe(false)
    }
  })
})

describe('the shared index of notes', () => {
  it('shows only entries with an id the relay accepts, with a bounded title', () => {
    const entries = noteEntries({
      'note-a': { title: 'First', createdAt: 1 },
      'note-b': { title: 'x'.repeat(10_000), createdAt: 2 },
      '': { title: 'no id', createdAt: 0 },
      ['x'.repeat(300)]: { title: 'id too long', createdAt: 0 },
      'bad\u0000id': { title: 'control character', createdAt: 0 },
      'note-c': 'not an object',
      'note-d': { title: { html: '<b>' }, createdAt: 'yesterday' },
    })
    expect(entries.map(({ id }) => id)).toEqual(['note-d', 'note-a', 'note-b'])
    expect(entries[0]).toEqual({ id: 'note-d', title: '', createdAt: 0 })
    expect(entries[2]!.title).toHaveLength(maxTitleLength)
    expect(cleanTitle('Tab\there')).toBe('Tabhere')
    expect(isNoteId('note-1')).toBe(true)
  })
})

describe('the note schema', () => {
  it('keeps no link and no image from pasted or shared content', () => {
    const html = document.createElement('div')
    html.innerHTML =
      '<p><a href="javascript:alert(1)">link</a> <img src="https://tracker/x.png"> <strong>bold</strong></p>'
    const doc = ProseMirrorParser.fromSchema(noteSchema).parse(html)
    expect(doc.textContent).toBe('link bold')
    expect(JSON.stringify(doc.toJSON())).not.toMatch(/href|src|"image"|"link"/)
  })

  it('renders no link and no image that another writer put into the shared note', () => {
    const ydoc = new Y.Doc()
    const body = ydoc.getXmlFragment('body')
    const paragraphWithLink = new Y.XmlElement('paragraph')
    const paragraph = new Y.XmlElement('paragraph')
    const image = new Y.XmlElement('image')
    image.setAttribute('src', 'https://tracker/x.png')
    body.insert(0, [paragraphWithLink, image, paragraph])
    paragraphWithLink.insert(0, [new Y.XmlText('click')])
    ;(paragraphWithLink.get(0) as Y.XmlText).format(0, 5, { link: { href: 'javascript:alert(1)' } })
    paragraph.insert(0, [new Y.XmlText()])
    ;(paragraph.get(0) as Y.XmlText).insert(0, 'bold', { strong: true })
    const doc = yXmlFragmentToProseMirrorRootNode(body, noteSchema)
    // y-prosemirror drops what the schema cannot hold (here the linked text with its link), never renders it.
    expect(doc.textContent).toBe('bold')
    expect(JSON.stringify(doc.toJSON())).not.toMatch(/href|src|"image"|"link"/)
  })
})
