import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { authorsText, previewOf, PreviewError, versionName } from './historyPreview.js'
import { HistoryRequestError, versionOf, versionsOf, type Version } from './historyRequests.js'
import { problemText } from './historyPanel.js'

const stateOf = (build: (doc: Y.Doc) => void): Uint8Array => {
  const doc = new Y.Doc()
  build(doc)
  return Y.encodeStateAsUpdate(doc)
}

const version = (fields: Partial<Version> = {}): Version => ({
  id: 'a1',
  createdAt: 0,
  label: null,
  authors: [],
  restoredFrom: null,
  bytes: 10,
  ...fields,
})

describe('previewOf', () => {
  it('reads the body text and the todos of a version, embeds as U+FFFC, todos of the wrong shape marked', () => {
    const state = stateOf((doc) => {
      const body = doc.getText('body')
      body.insert(0, 'Hello world')
      body.format(0, 5, { bold: true })
      body.insertEmbed(5, { image: 'x.png' })
      const todos = doc.getArray<unknown>('todos')
      const milk = new Y.Map<unknown>()
      milk.set('text', 'Buy milk')
      milk.set('done', true)
      const call = new Y.Map<unknown>()
      call.set('text', 'Call Bob')
      const nameless = new Y.Map<unknown>()
      nameless.set('text', 42)
      todos.push([milk, call, 'a string', nameless])
    })
    expect(previewOf(state)).toEqual({
      body: 'Hello\uFFFC world',
      todos: [
        { text: 'Buy milk', done: true },
        { text: 'Call Bob', done: false },
        { wrongShape: true },
        { wrongShape: true },
      ],
    })
  })

  it('shows an empty version as empty, and leaves the live document alone', () => {
    expect(previewOf(stateOf(() => {}))).toEqual({ body: '', todos: [] })
    const live = new Y.Doc()
    live.getText('body').insert(0, 'live')
    const state = stateOf((doc) => doc.getText('body').insert(0, 'old'))
    expect(previewOf(state).body).toBe('old')
    expect(live.getText('body').toString()).toBe('live')
  })

  it('throws a PreviewError for bytes that are not a Yjs update', () => {
    expect(() => previewOf(new Uint8Array([255, 255, 255, 255, 1]))).toThrow(PreviewError)
  })
})

describe('versionName and authorsText', () => {
  it('names labelled, automatic and restore versions; a restore by the label of what it brought back', () => {
    const v1 = version({ id: 'v1id', label: 'v1' })
    const auto = version({ id: 'autoid' })
    const restoreOfV1 = version({ id: 'r1', label: 'restored from v1id', restoredFrom: 'v1id' })
    const restoreOfAuto = version({ id: 'r2', label: 'restored from autoid', restoredFrom: 'autoid' })
    const known = [restoreOfAuto, restoreOfV1, auto, v1]
    expect(versionName(v1, known)).toBe('v1')
    expect(versionName(auto, known)).toBe('Automatic version')
    expect(versionName(restoreOfV1, known)).toBe('restored from v1')
    expect(versionName(restoreOfAuto, known)).toBe('restored from autoid')
    // Not in the list (an older page): its id.
    expect(versionName(restoreOfV1)).toBe('restored from v1id')
    expect(authorsText(version({ authors: ['ada', 'bob'] }))).toBe('by ada, bob')
    expect(authorsText(version())).toBe('no writers named')
  })
})

describe('what the relay answers', () => {
  const json = {
    id: 'kq3',
    createdAt: '2026-12-01T17:02:11.204Z',
    label: 'v1',
    authors: ['ada'],
    restoredFrom: null,
    bytes: 412,
  }

  it('takes versions of the documented shape', () => {
    expect(versionOf(json)).toEqual({ ...json, createdAt: Date.parse(json.createdAt) })
    expect(versionsOf({ versions: [json], nextCursor: null }).versions).toHaveLength(1)
  })

  it('refuses anything else', () => {
    for (const bad of [
      null,
      'v1',
      { ...json, id: '' },
      { ...json, createdAt: 'yesterday' },
      { ...json, authors: [1] },
      { ...json, label: 5 },
    ]) {
      expect(versionOf(bad)).toBeUndefined()
    }
    expect(() => versionsOf({ versions: [json, { id: 'x' }] })).toThrow(HistoryRequestError)
    expect(() => versionsOf('<html>')).toThrow(HistoryRequestError)
  })

  it("says what went wrong in words, with the relay's code", () => {
    expect(problemText('restore v1', new HistoryRequestError('versionNotFound', 'no version x', 404))).toBe(
      'Could not restore v1: no version x (versionNotFound).',
    )
    expect(problemText('save "a"', new HistoryRequestError('unreachable', 'the relay cannot be reached'))).toBe(
      'Could not save "a": the relay cannot be reached.',
    )
  })
})
