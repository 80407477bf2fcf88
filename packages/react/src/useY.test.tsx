// @vitest-environment happy-dom
/**
 * useY and its typed forms: a snapshot that follows local and remote edits
 * through a real relay, keeps the references of unchanged parts, and
 * re-renders nothing for an edit elsewhere in the document.
 */
import { act, cleanup, render, waitFor as waitForRender } from '@testing-library/react'
import { StrictMode, memo } from 'react'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { ConcordProvider } from './concordProvider.js'
import { afterDeferredCloses, makeClient, startTestRelay, tearDown } from './test/reactHarness.js'
import { useDocument } from './useDocument.js'
import { useY, useYArray, useYMap, useYText } from './useY.js'

afterEach(async () => {
  cleanup()
  await afterDeferredCloses()
  await tearDown()
})

interface Card {
  readonly title: string
}

describe('useY', () => {
  it("follows another client's edits to a map, an array and a text", async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const Board = () => {
      const { doc } = useDocument('board')
      const settings = useYMap<string>(doc.getMap('settings'))
      const cards = useYArray<string>(doc.getArray('cards'))
      const notes = useYText(doc.getText('notes'))
      return <output>{JSON.stringify({ settings, cards, notes })}</output>
    }
    const view = render(
      <StrictMode>
        <ConcordProvider client={client}>
          <Board />
        </ConcordProvider>
      </StrictMode>,
    )
    const other = makeClient(relay.url).client.open('board')
    other.doc.transact(() => {
      other.doc.getMap('settings').set('theme', 'dark')
      other.doc.getArray<string>('cards').push(['first', 'second'])
      other.doc.getText('notes').insert(0, 'hello')
    })
    await waitForRender(() =>
      expect(JSON.parse(view.getByRole('status').textContent!)).toEqual({
        settings: { theme: 'dark' },
        cards: ['first', 'second'],
        notes: 'hello',
      }),
    )
  })

  it('keeps unchanged entries and re-renders nothing for an edit elsewhere', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const snapshots: unknown[] = []
    const cardRenders = new Map<string, number>()
    const CardView = memo(({ id, card }: { readonly id: string; readonly card: Card }) => {
      cardRenders.set(id, (cardRenders.get(id) ?? 0) + 1)
      return <li>{card.title}</li>
    })
    let doc: Y.Doc | undefined
    const Cards = () => {
      doc = useDocument('cards').doc
      const cards = useY<Readonly<Record<string, Card>>>(doc.getMap('cards'))
      snapshots.push(cards)
      return (
        <ul>
          {Object.entries(cards).map(([id, card]) => (
            <CardView key={id} id={id} card={card} />
          ))}
        </ul>
      )
    }
    const view = render(
      <StrictMode>
        <ConcordProvider client={client}>
          <Cards />
        </ConcordProvider>
      </StrictMode>,
    )
    const cards = doc!.getMap<Y.Map<string>>('cards')
    act(() => {
      doc!.transact(() => {
        for (const id of ['a', 'b']) {
          const card = new Y.Map<string>()
          cards.set(id, card)
          card.set('title', `card ${id}`)
        }
      })
    })
    expect(view.getAllByRole('listitem').map((item) => item.textContent)).toEqual(['card a', 'card b'])
    // StrictMode renders each component twice: compare counts, not absolute numbers.
    const rendersBefore = Object.fromEntries(cardRenders)
    expect(Object.keys(rendersBefore)).toEqual(['a', 'b'])

    // An edit inside card a: a new snapshot, in which card b is the same object as before.
    const before = snapshots.at(-1) as Record<string, Card>
    act(() => cards.get('a')!.set('title', 'card a, renamed'))
    const after = snapshots.at(-1) as Record<string, Card>
    expect(after).not.toBe(before)
    expect(after.b).toBe(before.b)
    expect(cardRenders.get('a')).toBeGreaterThan(rendersBefore.a!)
    expect(cardRenders.get('b')).toBe(rendersBefore.b)

    // Edits to other types of the document, local and remote: no render at all.
    const renders = snapshots.length
    act(() => doc!.getText('elsewhere').insert(0, 'unrelated'))
    const other = makeClient(relay.url).client.open('cards')
    other.doc.getArray('list').push([1, 2, 3])
    await other.whenSynced()
    await waitForRender(() => expect(doc!.getArray('list').length).toBe(3))
    expect(snapshots.length).toBe(renders)

    // A transaction that leaves the content as it was (set to the same value): the same snapshot.
    act(() => cards.get('b')!.set('title', 'card b'))
    expect(snapshots.at(-1)).toBe(after)
  })
})
