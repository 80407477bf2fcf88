/**
 * DocumentRegistry on its own, against a real relay: a handle a render took
 * stays open until React runs that render's effects, even a few tasks late,
 * and one that no effect ever retains is closed after the grace.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DocumentRegistry } from './documentRegistry.js'
import { makeClient, startTestRelay, tearDown, waitFor } from './test/reactHarness.js'

afterEach(tearDown)

describe('DocumentRegistry', () => {
  it('keeps a handle a render took open until its effect retains it, a few tasks later', async () => {
    const relay = await startTestRelay()
    const { client, sockets } = makeClient(relay.url)
    const registry = new DocumentRegistry(client)
    const rendered = registry.get('late-effects')
    // React may run passive effects a task or more after the render (a scheduler task, a paint).
    for (let task = 0; task < 5; task++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(registry.retain('late-effects')).toBe(rendered)
    expect(client.open('late-effects')).toBe(rendered)
    expect(sockets()).toBe(1)
    registry.release('late-effects')
  })

  it('closes a handle that a render took and no effect ever retained', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const registry = new DocumentRegistry(client)
    const discarded = registry.get('discarded-render')
    discarded.awareness.setLocalState({ writer: true })
    const watcher = makeClient(relay.url).client.open('discarded-render')
    const writerPresent = () => [...watcher.awareness.getStates().values()].some((state) => state.writer === true)
    await waitFor(writerPresent, 'the writer present for the other client')
    await waitFor(() => !writerPresent(), 'the unretained handle closed', 10_000)
    expect(client.open('discarded-render')).not.toBe(discarded)
  })

  it('counts holds per id, and lets go only of what it holds', async () => {
    const relay = await startTestRelay()
    const { client } = makeClient(relay.url)
    const registry = new DocumentRegistry(client)
    const handle = registry.retain('counted')
    expect(registry.retain('counted')).toBe(handle)
    expect(registry.holders('counted')).toBe(2)
    registry.release('counted')
    registry.release('counted')
    registry.release('counted')
    expect(registry.holders('counted')).toBe(0)
    expect(registry.retain('counted')).toBe(handle)
    registry.release('counted')
  })
})
