// @vitest-environment happy-dom
/**
 * useSyncStatus and useUnsavedChangesWarning against a real relay: the
 * snapshot follows status and pending, changes identity only when they
 * change, reports a failing device store, and the warning is up exactly while
 * edits are not durable.
 */
import type { DocHandle } from '@concord/client'
import { act, cleanup, render, waitFor as waitForRender } from '@testing-library/react'
import { StrictMode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { ConcordProvider } from './concordProvider.js'
import { afterDeferredCloses, ControlledLocalStore, makeClient, startTestRelay, tearDown } from './test/reactHarness.js'
import { useDocument } from './useDocument.js'
import { useSyncStatus, useUnsavedChangesWarning, type SyncStatusSnapshot } from './useSyncStatus.js'

afterEach(async () => {
  cleanup()
  await afterDeferredCloses()
  await tearDown()
})

/** Renders the status of document `id`, recording every snapshot it rendered with. */
const renderStatus = (client: ReturnType<typeof makeClient>['client'], id: string, warn = false) => {
  const snapshots: SyncStatusSnapshot[] = []
  let handle: DocHandle | undefined
  const Status = () => {
    handle = useDocument(id)
    const snapshot = useSyncStatus(handle)
    useUnsavedChangesWarning(handle, warn)
    snapshots.push(snapshot)
    return <output>{`${snapshot.status} ${snapshot.pending} ${snapshot.deviceStorage}`}</output>
  }
  const view = render(
    <StrictMode>
      <ConcordProvider client={client}>
        <Status />
      </ConcordProvider>
    </StrictMode>,
  )
  return { view, snapshots, handle: () => handle! }
}

/** Whether the page would ask before unloading now. */
const beforeUnloadIsBlocked = (): boolean => {
  const event = new Event('beforeunload', { cancelable: true })
  window.dispatchEvent(event)
  return event.defaultPrevented
}

describe('useSyncStatus', () => {
  it('follows status and pending through edits the relay has not stored yet, to synced', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client } = makeClient(relay.url, store)
    const { view, handle } = renderStatus(client, 'status')
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))

    store.hold()
    act(() => handle().doc.getText('t').insert(0, 'one'))
    act(() => handle().doc.getText('t').insert(3, ' two'))
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('syncing 2 ok'))

    store.release()
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
  })

  it('does not re-render when nothing it shows changed', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const { view, snapshots, handle } = renderStatus(client, 'quiet')
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
    const renders = snapshots.length
    const last = snapshots.at(-1)

    // Presence changes, and other clients' edits, leave status and pending as they are.
    act(() => handle().awareness.setLocalState({ name: 'Ada' }))
    const other = makeClient(relay.url).client.open('quiet')
    other.doc.getText('t').insert(0, 'from elsewhere')
    await other.whenSynced()
    await waitForRender(() => expect(handle().doc.getText('t').toString()).toBe('from elsewhere'))

    expect(snapshots.length).toBe(renders)
    expect(snapshots.at(-1)).toBe(last)
  })

  it('says the device store is failing once an append fails', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client } = makeClient(relay.url, store)
    const { view, handle } = renderStatus(client, 'full-disk')
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
    store.failAppends = true
    act(() => handle().doc.getText('t').insert(0, 'kept in memory'))
    await waitForRender(() => expect(view.getByRole('status').textContent).toMatch(/ failing$/))
    // The relay still takes the edit; until it has, destroying the client would rightly say it is not saved.
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 failing'))
  })
})

describe('useUnsavedChangesWarning', () => {
  it('asks before unload while edits are not durable on the relay, and not after', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client } = makeClient(relay.url, store)
    const { view, handle } = renderStatus(client, 'warn', true)
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
    expect(beforeUnloadIsBlocked()).toBe(false)

    store.hold()
    act(() => handle().doc.getText('t').insert(0, 'unsaved'))
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('syncing 1 ok'))
    expect(beforeUnloadIsBlocked()).toBe(true)

    store.release()
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
    expect(beforeUnloadIsBlocked()).toBe(false)
  })

  it('never asks when not enabled', async () => {
    const relay = await startTestRelay()
    const store = new ControlledLocalStore()
    const { client } = makeClient(relay.url, store)
    const { view, handle } = renderStatus(client, 'no-warn', false)
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('synced 0 ok'))
    store.hold()
    act(() => handle().doc.getText('t').insert(0, 'unsaved'))
    await waitForRender(() => expect(view.getByRole('status').textContent).toBe('syncing 1 ok'))
    expect(beforeUnloadIsBlocked()).toBe(false)
    store.release()
  })
})
