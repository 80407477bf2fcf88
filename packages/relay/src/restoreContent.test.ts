import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { restoreContent, type RootKind } from './restoreContent.js'

/** A Y.Doc as the relay has one: decoded from an update, its roots of no known type yet. */
const decoded = (doc: Y.Doc): Y.Doc => {
  const copy = new Y.Doc()
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc))
  return copy
}

/**
 * Restores `version` into a copy of `live` as the relay does, and returns the copy with the
 * updates the restore emitted; `live` itself is left as it was.
 */
const restored = (live: Y.Doc, version: Y.Doc, kinds?: Record<string, RootKind>) => {
  const result = decoded(live)
  const updates: Uint8Array[] = []
  result.on('update', (update: Uint8Array) => updates.push(update))
  restoreContent(result, decoded(version), kinds)
  return { result, updates }
}

/** A copy of `doc` that is edited from now on while `doc` is kept as the version. */
const forkOf = (doc: Y.Doc): Y.Doc => {
  const fork = new Y.Doc()
  Y.applyUpdate(fork, Y.encodeStateAsUpdate(doc))
  return fork
}

describe('restoring a version', () => {
  it('gives text back its characters, formatting, embeds and attributes', () => {
    const version = new Y.Doc()
    const body = version.getText('body')
    body.insert(0, 'Hello brave new world 😀!')
    body.format(0, 5, { bold: true })
    body.format(6, 5, { italic: true, color: '#f00' })
    body.insertEmbed(11, { image: 'cat.png' }, { width: 10 })
    body.setAttribute('lang', 'en')
    const live = forkOf(version)
    const text = live.getText('body')
    text.format(0, 5, { bold: null, underline: true })
    text.delete(3, 10)
    text.insert(2, 'XYZ', { bold: true })
    text.insert(text.length, ' tail 😀')
    text.setAttribute('lang', 'fr')
    text.setAttribute('extra', 1)

    const { result, updates } = restored(live, version)
    expect(result.getText('body').toDelta()).toEqual(version.getText('body').toDelta())
    expect(result.getText('body').getAttributes()).toEqual({ lang: 'en' })
    expect(updates).toHaveLength(1)
  })

  it('keeps the unchanged start and end of a text, so that a concurrent offline insertion stays in place', () => {
    const version = new Y.Doc()
    version.getText('body').insert(0, 'The quick brown fox jumps')
    const live = forkOf(version)
    live.getText('body').delete(4, 6) // "The brown fox jumps"
    // Someone offline since then inserts into the part the restore leaves alone.
    const offline = forkOf(live)
    offline.getText('body').insert(offline.getText('body').length, ' high')

    const { result, updates } = restored(live, version)
    expect(result.getText('body').toString()).toBe('The quick brown fox jumps')
    Y.applyUpdate(result, Y.encodeStateAsUpdate(offline))
    Y.applyUpdate(offline, updates[0]!)
    expect(result.getText('body').toString()).toBe('The quick brown fox jumps high')
    expect(offline.getText('body').toString()).toBe('The quick brown fox jumps high')
  })

  it('gives maps back their entries, with nested maps, arrays and formatted text restored', () => {
    const version = new Y.Doc()
    const settings = version.getMap('settings')
    settings.set('title', 'Plan')
    settings.set('count', 3)
    settings.set('tags', ['a', { deep: [1, 2] }])
    settings.set('bytes', new Uint8Array([1, 2, 3]))
    const nested = new Y.Map<unknown>()
    settings.set('nested', nested)
    nested.set('flag', true)
    const list = new Y.Array<unknown>()
    nested.set('list', list)
    list.push([1, 'two'])
    const note = new Y.Text()
    nested.set('note', note)
    note.insert(0, 'bold note', { bold: true })
    settings.set('shape', new Y.Map())

    const live = forkOf(version)
    const liveSettings = live.getMap<unknown>('settings')
    liveSettings.set('title', 'Plan B')
    liveSettings.delete('count')
    liveSettings.set('added', 'new')
    liveSettings.set('tags', ['a', { deep: [1, 3] }])
    liveSettings.set('bytes', new Uint8Array([1, 2, 4]))
    const liveNested = liveSettings.get('nested') as Y.Map<unknown>
    liveNested.set('flag', false)
    ;(liveNested.get('list') as Y.Array<unknown>).insert(1, ['inserted'])
    ;(liveNested.get('note') as Y.Text).format(0, 4, { bold: null })
    // A nested map replaced by an array: not the same kind, so replaced back.
    liveSettings.set('shape', new Y.Array())

    const { result, updates } = restored(live, version)
    const back = result.getMap<unknown>('settings')
    expect(back.toJSON()).toEqual(settings.toJSON())
    const backNested = back.get('nested') as Y.Map<unknown>
    expect((backNested.get('note') as Y.Text).toDelta()).toEqual(note.toDelta())
    expect(back.get('shape')).toBeInstanceOf(Y.Map)
    // Restored in place: the nested map is the same one, not a copy.
    expect(backNested).toBe(result.getMap('settings').get('nested'))
    expect(updates).toHaveLength(1)
  })

  it('gives arrays back their items, with nested maps and arrays restored', () => {
    const version = new Y.Doc()
    const todos = version.getArray<unknown>('todos')
    const todo = (title: string, done: boolean): Y.Map<unknown> => {
      const map = new Y.Map<unknown>()
      map.set('title', title)
      map.set('done', done)
      const tags = new Y.Array<string>()
      tags.push(['home'])
      map.set('tags', tags)
      return map
    }
    todos.push([todo('one', false), todo('two', true), 'plain', 42, null, todo('three', false)])
    const live = forkOf(version)
    const liveTodos = live.getArray<unknown>('todos')
    ;(liveTodos.get(0) as Y.Map<unknown>).set('done', true)
    ;((liveTodos.get(1) as Y.Map<unknown>).get('tags') as Y.Array<string>).push(['work'])
    liveTodos.delete(2, 2)
    liveTodos.insert(2, [todo('inserted', false), 'other'])
    liveTodos.push([7])

    const { result, updates } = restored(live, version)
    expect(result.getArray('todos').toJSON()).toEqual(todos.toJSON())
    expect(updates).toHaveLength(1)
  })

  it('gives XML fragments back their elements, attributes and formatted text', () => {
    const version = new Y.Doc()
    const fragment = version.getXmlFragment('prosemirror')
    const paragraph = new Y.XmlElement('paragraph')
    paragraph.setAttribute('align', 'left')
    const text = new Y.XmlText()
    paragraph.insert(0, [text])
    text.insert(0, 'Hello ')
    text.insert(6, 'world', { strong: {} })
    const heading = new Y.XmlElement('heading')
    heading.setAttribute('level', '1')
    fragment.insert(0, [heading, paragraph])

    const live = forkOf(version)
    const liveFragment = live.getXmlFragment('prosemirror')
    const liveParagraph = liveFragment.get(1) as Y.XmlElement
    liveParagraph.setAttribute('align', 'right')
    liveParagraph.setAttribute('class', 'x')
    ;(liveParagraph.get(0) as Y.XmlText).format(0, 5, { em: {} })
    ;(liveParagraph.get(0) as Y.XmlText).insert(0, 'Oh, ')
    liveFragment.delete(0, 1)
    liveFragment.insert(1, [new Y.XmlElement('blockquote')])

    const { result, updates } = restored(live, version)
    expect(result.getXmlFragment('prosemirror').toString()).toBe(fragment.toString())
    const backText = (result.getXmlFragment('prosemirror').get(1) as Y.XmlElement).get(0) as Y.XmlText
    expect(backText.toDelta()).toEqual(text.toDelta())
    expect(updates).toHaveLength(1)
  })

  it('empties a root the version did not have, and fills one whose content was deleted since', () => {
    const version = new Y.Doc()
    version.getText('body').insert(0, 'kept in the version')
    const live = forkOf(version)
    live.getText('body').delete(0, live.getText('body').length)
    live.getArray('later').push(['made after the version'])
    live.getMap('meta').set('k', 'v')

    const { result } = restored(live, version)
    expect(result.getText('body').toString()).toBe('kept in the version')
    expect(result.getArray('later').toJSON()).toEqual([])
    expect(result.getMap('meta').toJSON()).toEqual({})
  })

  it('changes nothing, and emits no update, when the document already equals the version', () => {
    const version = new Y.Doc()
    version.getText('body').insert(0, 'same', { bold: true })
    version.getMap('m').set('a', [1, { b: 2 }])
    const { updates } = restored(forkOf(version), version)
    expect(updates).toEqual([])
  })

  it('refuses a root whose type its content cannot tell, or contradicts, changing nothing', () => {
    const version = new Y.Doc()
    // An array that holds XML nodes and plain values: an array, or an XML fragment of a kind.
    version.getArray('body').push([new Y.XmlElement('p'), 'plain'])
    const live = forkOf(version)
    live.getArray('body').push(['more'])
    expect(() => restored(live, version)).toThrow(expect.objectContaining({ code: 'rootTypeUnknown' }))
    const named = restored(live, version, { body: 'array' })
    expect(named.result.getArray('body').length).toBe(2)

    const other = new Y.Doc()
    other.getMap('body').set('k', 1)
    const result = decoded(live)
    const updates: Uint8Array[] = []
    result.on('update', (update: Uint8Array) => updates.push(update))
    expect(() => restoreContent(result, decoded(other))).toThrow(expect.objectContaining({ code: 'rootTypeUnknown' }))
    expect(() => restoreContent(result, decoded(other), { body: 'text' })).toThrow(
      expect.objectContaining({ code: 'rootTypeUnknown' }),
    )
    expect(updates).toEqual([])
  })
})
