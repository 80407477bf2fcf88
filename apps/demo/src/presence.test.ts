import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { presentState, presentUser } from './presence.js'

describe('presentUser', () => {
  it('uses a colour only when it is #rrggbb, and a name only as bounded text', () => {
    const hostile = 'red;position:fixed;inset:0;background:url(http://198.51.100.7/x.png)'
    expect(presentUser({ name: 'Ada', color: '#d62828', colorLight: '#d6282833' })).toEqual({
      name: 'Ada',
      color: '#d62828',
      colorLight: '#d6282833',
    })
    expect(presentUser({ name: 'Mallory', color: hostile, colorLight: hostile })).toEqual({
      name: 'Mallory',
      color: '#6e7781',
      colorLight: '#6e778133',
    })
    for (const color of ['#fff', 'red', '#d62828;', ' #d62828', '#d62828\n', 'url(#d62828)', 12, null]) {
      expect(presentUser({ name: 'x', color })?.color).toBe('#6e7781')
    }
    expect(presentUser({ name: `  ${'é'.repeat(100)}  ` })?.name).toBe('é'.repeat(40))
    // Cut by code point: a surrogate pair is never split.
    expect(presentUser({ name: '😀'.repeat(50) })?.name).toBe('😀'.repeat(40))
    for (const user of [undefined, null, 'Ada', ['Ada'], { name: 42 }, { name: '   ' }, { color: '#d62828' }]) {
      expect(presentUser(user)).toBeUndefined()
    }
  })
})

describe('presentState', () => {
  const doc = new Y.Doc()
  const text = doc.getText('body')
  text.insert(0, 'hello')
  const position = JSON.parse(JSON.stringify(Y.createRelativePositionFromTypeIndex(text, 2))) as unknown

  it('keeps a well-formed cursor into the text, in the form Yjs reads', () => {
    const state = presentState({ user: { name: 'Ada' }, cursor: { anchor: position, head: position } }, 'body')
    expect(state.cursor).toEqual({ anchor: position, head: position })
    const cursor = state.cursor as { anchor: Y.RelativePosition }
    expect(Y.createAbsolutePositionFromRelativePosition(cursor.anchor, doc)?.index).toBe(2)
  })

  it('leaves out a cursor of any other shape, and keeps the rest', () => {
    for (const cursor of [
      'here',
      { anchor: position },
      { anchor: position, head: { item: 'x' } },
      { anchor: position, head: { item: { client: -1, clock: 0 } } },
      { anchor: position, head: { item: { client: 1, clock: 2 ** 60 } } },
      // No item and no type name: Yjs would read a missing item as an id and throw.
      { anchor: position, head: {} },
      // Another top-level type: Yjs would create it in the document.
      { anchor: position, head: { tname: 'todos', item: null } },
      { anchor: position, head: { type: { client: 1, clock: 0 }, item: null } },
      { anchor: position, head: { tname: 'body', item: null, assoc: 0.5 } },
    ]) {
      const state = presentState({ user: { name: 'Ada' }, cursor }, 'body')
      expect(state, JSON.stringify(cursor)).toEqual({
        user: { name: 'Ada', color: '#6e7781', colorLight: '#6e778133' },
      })
    }
    expect(presentState('a string', 'body')).toEqual({})
    expect(presentState(null, 'body')).toEqual({})
  })
})
