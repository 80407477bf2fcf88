// @vitest-environment happy-dom
/**
 * usePresence against a real relay: one client's state reaches the other's
 * hook, invalid states are left out through `parse`, and nothing re-renders
 * for a change the hook does not show.
 */
import type { ConcordClient } from '@concord/client'
import { act, cleanup, render, waitFor as waitForRender, within } from '@testing-library/react'
import { StrictMode } from 'react'
import { afterEach, describe, expect, it } from 'vitest'
import { ConcordProvider } from './concordProvider.js'
import { afterDeferredCloses, makeClient, startTestRelay, tearDown } from './test/reactHarness.js'
import { useDocument } from './useDocument.js'
import { usePresence, type Peer, type Presence } from './usePresence.js'

afterEach(async () => {
  cleanup()
  await afterDeferredCloses()
  await tearDown()
})

interface User {
  readonly name: string
}

const parseUser = (state: Record<string, unknown>): User | undefined => {
  if (state.name === 'throw') throw new Error('a parse that throws on what it did not expect')
  return typeof state.name === 'string' && state.name.length <= 40 ? { name: state.name } : undefined
}

/** Mounts a presence list for document `id` in `client`, recording every `others` it rendered with. */
const renderPresence = (client: ConcordClient, id: string) => {
  const renders: (readonly Peer<User>[])[] = []
  let presence: Presence<User> | undefined
  const People = () => {
    presence = usePresence(useDocument(id), { parse: parseUser })
    renders.push(presence.others)
    return (
      <ul>
        {presence.others.map(({ clientId, state }) => (
          <li key={clientId}>{state.name}</li>
        ))}
      </ul>
    )
  }
  const view = render(
    <StrictMode>
      <ConcordProvider client={client}>
        <People />
      </ConcordProvider>
    </StrictMode>,
  )
  return { view, renders, presence: () => presence! }
}

const names = (view: ReturnType<typeof render>) =>
  within(view.container)
    .queryAllByRole('listitem')
    .map((item) => item.textContent)

describe('usePresence', () => {
  it("shows the other client's state as it changes, and its departure", async () => {
    const relay = await startTestRelay()
    const alice = renderPresence(makeClient(relay.url).client, 'room')
    const bob = renderPresence(makeClient(relay.url).client, 'room')

    act(() => alice.presence().setLocalState({ name: 'Alice' }))
    await waitForRender(() => expect(names(bob.view)).toEqual(['Alice']))
    act(() => alice.presence().setLocalField('name', 'Alice L.'))
    await waitForRender(() => expect(names(bob.view)).toEqual(['Alice L.']))
    // Its own state is not among the others.
    expect(names(alice.view)).toEqual([])

    act(() => bob.presence().setLocalState({ name: 'Bob' }))
    await waitForRender(() => expect(names(alice.view)).toEqual(['Bob']))
    alice.view.unmount()
    await waitForRender(() => expect(names(bob.view)).toEqual([]))
  })

  it('leaves out states that parse rejects', async () => {
    const relay = await startTestRelay()
    const alice = renderPresence(makeClient(relay.url).client, 'hostile')
    const mallory = makeClient(relay.url).client.open('hostile')
    const carol = makeClient(relay.url).client.open('hostile')
    // A state that makes the app's parse throw is left out, and breaks nothing for the others.
    mallory.awareness.setLocalState({ name: 'throw' })
    carol.awareness.setLocalState({ name: 'Carol' })
    await waitForRender(() => expect(names(alice.view)).toEqual(['Carol']))
    mallory.awareness.setLocalState({ name: 'x'.repeat(10_000) })
    carol.awareness.setLocalState({ name: 'Carol!' })
    await waitForRender(() => expect(names(alice.view)).toEqual(['Carol!']))
    mallory.awareness.setLocalState({ name: { toString: 'not a string' } })
    mallory.awareness.setLocalState({ name: 'Mallory' })
    await waitForRender(() => expect(names(alice.view).sort()).toEqual(['Carol!', 'Mallory']))
  })

  it('does not re-render for its own state, or for a state sent again unchanged', async () => {
    const relay = await startTestRelay()
    const alice = renderPresence(makeClient(relay.url).client, 'calm')
    const bob = makeClient(relay.url).client.open('calm')
    bob.awareness.setLocalState({ name: 'Bob' })
    await waitForRender(() => expect(names(alice.view)).toEqual(['Bob']))
    const renders = alice.renders.length
    const others = alice.renders.at(-1)

    act(() => alice.presence().setLocalState({ name: 'Alice' }))
    // Sent again with the same content: the relay forwards it, awareness reports no change.
    bob.awareness.setLocalState({ name: 'Bob' })
    // A change seen by the others proves the renewal above has been through the relay too.
    const carol = makeClient(relay.url).client.open('calm')
    await carol.whenSynced()
    await waitForRender(() =>
      expect(
        [...carol.awareness.getStates().values()]
          .map((state) => state.name)
          .filter(Boolean)
          .sort(),
      ).toEqual(['Alice', 'Bob']),
    )
    expect(alice.renders.length).toBe(renders)
    expect(alice.renders.at(-1)).toBe(others)
  })
})
