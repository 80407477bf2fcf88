// @vitest-environment happy-dom
/**
 * A component that reads `useDocument(id).doc` through useYText re-renders
 * with the new doc when the document forks: a clock squat's victim moves its
 * offline edits to a new client id in a new Y.Doc (the handle's `replaced`),
 * and the page must show that doc, which holds its edits and the squatter's,
 * not the old one.
 */
import { createClient, MemoryLocalStore, type DocHandle } from '@concord/client'
import { NativeTestClient } from '@concord/relay/testing'
import { cleanup, render, screen } from '@testing-library/react'
import { memo } from 'react'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { ConcordProvider } from './concordProvider.js'
import { afterDeferredCloses, makeClient, startTestRelay, tearDown, waitFor } from './test/reactHarness.js'
import { useDocument } from './useDocument.js'
import { usePresence } from './usePresence.js'
import { useYText } from './useY.js'

afterEach(async () => {
  cleanup()
  await afterDeferredCloses()
  await tearDown()
})

/** Shows the others' presence; memo: it renders again only when its own hooks say so. */
const PresenceView = memo(({ handle }: { readonly handle: DocHandle }) => {
  const { others } = usePresence(handle)
  return <p data-testid="presence">{others.map(({ state }) => String(state.name)).join(',')}</p>
})

const Page = () => {
  const handle = useDocument('forked')
  const text = useYText(handle.doc.getText('t'))
  return (
    <>
      <p data-testid="text">{text}</p>
      <PresenceView handle={handle} />
    </>
  )
}

describe('useDocument when the document forks', () => {
  it('re-renders with the new doc, which shows the offline edit and the squatter’s content', async () => {
    const relay = await startTestRelay()
    const store = new MemoryLocalStore()
    // Typed offline on this device: stored, pending, under the doc's client id and first clocks.
    const offline = createClient({ url: relay.url, store, connect: false, shareAcrossTabs: false })
    const draft = offline.open('forked')
    await draft.whenLoaded()
    const victimId = draft.doc.clientID
    draft.doc.getText('t').insert(0, 'real edit')
    await draft.close()

    // Someone writes under those clocks first.
    const forger = await NativeTestClient.connect(relay.url)
    const forged = forger.open('forked')
    await forger.whenSynced('forked')
    const squatter = new Y.Doc()
    squatter.clientID = victimId
    squatter.getText('t').insert(0, 'forged ')
    Y.applyUpdate(forged.doc, Y.encodeStateAsUpdate(squatter))
    await forger.whenAcked('forked')
    forger.close()

    // Someone else is here, to be seen through the new doc's presence too.
    const { client: other } = makeClient(relay.url)
    const otherHandle = other.open('forked')
    otherHandle.awareness.setLocalStateField('name', 'other')
    await otherHandle.whenSynced()

    const { client } = makeClient(relay.url, store)
    const replaced: unknown[] = []
    client.open('forked').on('replaced', (doc) => replaced.push(doc))
    render(
      <ConcordProvider client={client}>
        <Page />
      </ConcordProvider>,
    )
    await waitFor(() => replaced.length > 0, 'the fork')
    await waitFor(() => {
      const shown = screen.getByTestId('text').textContent ?? ''
      return shown.includes('real edit') && shown.includes('forged')
    }, 'the new doc on the page')
    await client.open('forked').whenSynced()
    otherHandle.awareness.setLocalStateField('name', 'after the fork')
    await waitFor(() => screen.getByTestId('presence').textContent === 'after the fork', 'presence through the new doc')
    expect(screen.getByTestId('text').textContent).toBe(otherHandle.doc.getText('t').toString())
    await offline.destroy()
  })
})
