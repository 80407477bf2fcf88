// @vitest-environment happy-dom
/**
 * useDocument and ConcordProvider against a real relay: StrictMode's double
 * mount, two components sharing a handle, unmounts while edits are not yet
 * stored, and the provider's own client.
 */
import type { DocHandle } from '@concord/client'
import { act, cleanup, render, waitFor as waitForRender } from '@testing-library/react'
import { StrictMode, useEffect, useState } from 'react'
import { WebSocket as NodeWebSocket } from 'ws'
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { ConcordProvider } from './concordProvider.js'
import { registryOf } from './documentRegistry.js'
import {
  afterDeferredCloses,
  ControlledLocalStore,
  makeClient,
  startTestRelay,
  tearDown,
  waitFor,
} from './test/reactHarness.js'
import { useDocument } from './useDocument.js'

afterEach(async () => {
  cleanup()
  await afterDeferredCloses()
  await tearDown()
})

/** A component that holds document `id` and reports the handle it got on every render. */
const Holder = ({ id, onHandle }: { readonly id: string; readonly onHandle: (handle: DocHandle) => void }) => {
  const handle = useDocument(id)
  onHandle(handle)
  return null
}

const textOf = (handle: DocHandle) => handle.doc.getText('t').toString()

/** The relay's stored text of document `id`. */
const storedText = async (relay: Awaited<ReturnType<typeof startTestRelay>>, id: string): Promise<string> => {
  const doc = new Y.Doc()
  for (const update of await relay.store.load(id)) Y.applyUpdate(doc, update)
  return doc.getText('t').toString()
}

/** Another client's view of `id`: whether the writer's presence (state `{ writer: true }`) is there. */
const watchPresence = async (url: string, id: string) => {
  const { client } = makeClient(url)
  const handle = client.open(id)
  await handle.whenSynced()
  return () => [...handle.awareness.getStates().values()].some((state) => state.writer === true)
}

describe('useDocument', () => {
  it('keeps one handle, one socket and every edit through StrictMode mount, unmount, mount', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client, sockets, errors } = makeClient(relay.url, store)
    const handles = new Set<DocHandle>()
    const Editor = () => {
      const handle = useDocument('strict')
      handles.add(handle)
      // Runs twice under StrictMode: an edit in each effect, made while the device store holds appends back.
      useEffect(() => {
        handle.doc.getText('t').insert(textOf(handle).length, 'x')
      }, [handle])
      return null
    }
    store.hold()
    render(
      <StrictMode>
        <ConcordProvider client={client}>
          <Editor />
        </ConcordProvider>
      </StrictMode>,
    )
    await afterDeferredCloses()
    expect(handles.size).toBe(1)
    const [handle] = [...handles] as [DocHandle]
    expect(textOf(handle)).toBe('xx')
    expect(store.appending).toBeGreaterThan(0)
    expect(registryOf(client).holders('strict')).toBe(1)

    store.release()
    await handle.whenSynced()
    expect(await storedText(relay, 'strict')).toBe('xx')
    expect(client.open('strict')).toBe(handle)
    expect(sockets()).toBe(1)
    expect(errors).toEqual([])
  })

  it('shares one handle between two components, and closes it only when the last one unmounts', async () => {
    const relay = await startTestRelay()
    const { client, errors } = makeClient(relay.url)
    const seen = new Set<DocHandle>()
    const Page = ({ first, second }: { readonly first: boolean; readonly second: boolean }) => (
      <ConcordProvider client={client}>
        {first && <Holder id="shared" onHandle={(handle) => seen.add(handle)} />}
        {second && <Holder id="shared" onHandle={(handle) => seen.add(handle)} />}
      </ConcordProvider>
    )
    const view = render(<Page first second />)
    expect(seen.size).toBe(1)
    const [handle] = [...seen] as [DocHandle]
    handle.awareness.setLocalState({ writer: true })
    const writerPresent = await watchPresence(relay.url, 'shared')
    await waitFor(writerPresent, 'the writer present for the other client')

    view.rerender(<Page first={false} second />)
    await afterDeferredCloses()
    expect(registryOf(client).holders('shared')).toBe(1)
    expect(writerPresent()).toBe(true)

    view.rerender(<Page first={false} second={false} />)
    await waitFor(() => !writerPresent(), 'the writer gone once its last holder unmounted')
    expect(client.open('shared')).not.toBe(handle)
    expect(errors).toEqual([])
  })

  it('keeps the handle when a view of a document unmounts as another mounts (fast navigation)', async () => {
    const relay = await startTestRelay()
    const { client, sockets } = makeClient(relay.url)
    const seen: DocHandle[] = []
    const Inbox = () => <Holder id="nav" onHandle={(handle) => seen.push(handle)} />
    const Detail = () => <Holder id="nav" onHandle={(handle) => seen.push(handle)} />
    const App = ({ page }: { readonly page: 'inbox' | 'detail' }) => (
      <ConcordProvider client={client}>{page === 'inbox' ? <Inbox /> : <Detail />}</ConcordProvider>
    )
    const view = render(<App page="inbox" />)
    seen[0]!.doc.getText('t').insert(0, 'kept')
    for (const page of ['detail', 'inbox', 'detail'] as const) view.rerender(<App page={page} />)
    await afterDeferredCloses()
    expect(new Set(seen).size).toBe(1)
    await seen[0]!.whenSynced()
    expect(await storedText(relay, 'nav')).toBe('kept')
    expect(sockets()).toBe(1)
  })

  it('loses no edit when the last holder unmounts while the edits are not yet stored on the device', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client, errors } = makeClient(relay.url, store)
    let handle: DocHandle | undefined
    const Editor = () => {
      const held = useDocument('unstored')
      handle = held
      return null
    }
    const App = ({ open }: { readonly open: boolean }) => (
      <ConcordProvider client={client}>{open && <Editor />}</ConcordProvider>
    )
    const view = render(<App open />)
    const first = handle!
    await first.whenLoaded()
    store.hold()
    const appendedBefore = store.appended
    for (const word of ['one ', 'two ', 'three']) first.doc.getText('t').insert(textOf(first).length, word)
    expect(first.pending).toBe(3)

    view.rerender(<App open={false} />)
    await afterDeferredCloses()
    expect(store.appended).toBe(appendedBefore)
    store.release()
    await store.whenIdle()

    view.rerender(<App open />)
    const reopened = handle!
    expect(reopened).not.toBe(first)
    await reopened.whenLoaded()
    expect(textOf(reopened)).toBe('one two three')
    await reopened.whenSynced()
    expect(await storedText(relay, 'unstored')).toBe('one two three')
    expect(errors).toEqual([])
  })

  it('hands every component the new handle after the app closed the old one itself', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    let latest: DocHandle | undefined
    const Counter = () => {
      const [count, setCount] = useState(0)
      latest = useDocument('reopened')
      return <button onClick={() => setCount(count + 1)}>{count}</button>
    }
    const view = render(
      <ConcordProvider client={client}>
        <Counter />
      </ConcordProvider>,
    )
    const first = latest!
    first.close()
    act(() => view.getByRole('button').click())
    expect(latest).not.toBe(first)
    expect(client.open('reopened')).toBe(latest)
  })
})

describe('ConcordProvider', () => {
  it('makes one client from options under StrictMode, and destroys it once unmounted for good', async () => {
    const relay = await startTestRelay()
    let sockets = 0
    class CountedWebSocket extends NodeWebSocket {
      constructor(...args: ConstructorParameters<typeof NodeWebSocket>) {
        super(...args)
        sockets++
      }
    }
    const options = { url: relay.url, WebSocket: CountedWebSocket as never, shareAcrossTabs: false, name: 'own' }
    let handle: DocHandle | undefined
    const Editor = () => {
      handle = useDocument('owned')
      return null
    }
    const view = render(
      <StrictMode>
        <ConcordProvider options={options}>
          <Editor />
        </ConcordProvider>
      </StrictMode>,
    )
    handle!.doc.getText('t').insert(0, 'from the provider')
    await handle!.whenSynced()
    expect(sockets).toBe(1)
    await waitForRender(() => expect(relay.relay.stats().connections).toBe(1))

    view.unmount()
    await waitFor(() => relay.relay.stats().connections === 0, 'the provider to destroy its client')
    expect(await storedText(relay, 'owned')).toBe('from the provider')
  })

  it('never destroys a client it was given', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const view = render(<ConcordProvider client={client} />)
    view.unmount()
    await afterDeferredCloses()
    const handle = client.open('still-usable')
    handle.doc.getText('t').insert(0, 'yes')
    await handle.whenSynced()
    expect(await storedText(relay, 'still-usable')).toBe('yes')
  })
})
