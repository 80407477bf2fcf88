/**
 * Who a room greets with its sync step 1: a connection's peer, and a direct peer that listens for
 * it; never a peer inside the relay that only writes or reads (the HTTP API, a server-side
 * document, a version's reader, a restore), for which the room's state vector would be a merge of
 * the whole document for nothing. Their writes land and are acknowledged all the same.
 */
import { decodeYWebsocketMessage } from '@concord/protocol'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DirectPeer } from './directPeer.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { silentLogger } from './logger.js'
import { QueuedBytes } from './queuedBytes.js'
import { Room } from './room.js'
import type { RoomPeer } from './roomPeer.js'
import { waitFor } from './test/relayHarness.js'

const roomOf = (store = new MemoryDocStore()): Room =>
  new Room('doc', {
    store,
    logger: silentLogger,
    compactAfterUpdates: 1_000,
    unloadAfterMs: 60_000,
    maxAwarenessStateBytes: 1_024,
    maxWaitingFrames: 100,
    maxQueuedBytes: 1 << 20,
    relayQueuedBytes: new QueuedBytes(1 << 20),
    onGone: () => {},
  })

/** A connection-like peer that records what the room sends it. */
const recordingPeer = (greeted?: boolean) => {
  const frames: string[] = []
  const peer: RoomPeer = {
    mode: 'y-websocket',
    canWrite: true,
    send: (frame) => {
      const message = decodeYWebsocketMessage(frame)
      frames.push(message.type === 'sync' ? message.sync.type : message.type)
    },
    refuse: () => {},
    ...(greeted !== undefined && { greeted }),
  }
  return { peer, frames }
}

const edit = (text: string): Uint8Array => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('a room greets', () => {
  it('a peer with its step 1, unless the peer says it is not to be greeted; that one still writes durably', async () => {
    const store = new MemoryDocStore()
    await store.append('doc', edit('stored'))
    const room = roomOf(store)
    // One joins while the document loads, one once it is loaded: the room greets at either moment.
    const early = recordingPeer(false)
    const greeted = recordingPeer()
    room.join(early.peer)
    room.join(greeted.peer)
    await waitFor(() => greeted.frames.includes('step1'), 'the greeting of the default peer')
    const late = recordingPeer(false)
    room.join(late.peer)
    expect(early.frames).toEqual([])
    expect(late.frames).toEqual([])

    const outcome = await room.receive(late.peer, { type: 'sync', sync: { type: 'update', update: edit('late') } })
    expect(outcome).toEqual({ kind: 'durable' })
    expect(await store.load('doc')).toHaveLength(2)
    // Forwarded to the others as any write is; still no step 1 for the writer.
    expect(early.frames).toEqual(['update'])
    expect(greeted.frames).toContain('update')
    expect(late.frames).toEqual([])
  })

  it('a direct peer only when it listens for the step 1; a writer that does not is acknowledged once stored', async () => {
    const store = new MemoryDocStore()
    const room = roomOf(store)
    const joined: RoomPeer[] = []
    const join = room.join.bind(room)
    room.join = (peer) => {
      joined.push(peer)
      join(peer)
    }
    const stateVectors: Uint8Array[] = []
    const listener = new DirectPeer(room, 'read', 'reader', { step1: (stateVector) => stateVectors.push(stateVector) })
    await waitFor(() => stateVectors.length === 1, 'the step 1 of the listening peer')

    const writer = new DirectPeer(room, 'write', 'api', {})
    await writer.send({ type: 'update', update: edit('from the API') })
    expect(joined.map((peer) => peer.greeted)).toEqual([true, false])
    const stored = new Y.Doc()
    for (const update of await store.load('doc')) Y.applyUpdate(stored, update)
    expect(stored.getText('t').toString()).toBe('from the API')
    expect(stateVectors).toHaveLength(1)
    writer.leave()
    listener.leave()
  })
})
