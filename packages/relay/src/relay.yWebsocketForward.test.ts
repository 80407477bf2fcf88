import { decodeYWebsocketMessage, encodeYWebsocketMessage } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const sockets: WebSocket[] = []

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate()
  await relay?.close()
  relay = undefined
})

/** A raw y-websocket connection to `doc`, keeping the sync updates it receives. */
const connect = async (doc: string) => {
  const ws = new WebSocket(`${relay!.url}/${doc}`)
  sockets.push(ws)
  const updates: Uint8Array[] = []
  ws.on('message', (data: Buffer) => {
    const message = decodeYWebsocketMessage(new Uint8Array(data))
    if (message.type === 'sync' && message.sync.type === 'update') updates.push(message.sync.update)
  })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  const send = (update: Uint8Array) =>
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
  return { updates, send }
}

describe('y-websocket forwarding', () => {
  it('forwards an update as it came, and of a repeat only what is new, each decoding to what the room keeps', async () => {
    relay = await startRelay()
    const writer = await connect('forwarded')
    const reader = await connect('forwarded')
    const doc = new Y.Doc()
    const typed: Uint8Array[] = []
    doc.on('update', (update: Uint8Array) => typed.push(update))
    doc.getText('t').insert(0, 'hello')
    const first = typed[0]!
    writer.send(first)
    await waitFor(() => reader.updates.length === 1, 'the first update to be forwarded')
    expect(reader.updates[0]).toEqual(first)

    // The first update again with a second one, merged: the relay holds the first, and forwards the rest only.
    doc.getText('t').insert(5, ', world')
    const both = Y.mergeUpdates([first, typed[1]!])
    writer.send(both)
    await waitFor(() => reader.updates.length === 2, 'what is new of the repeat to be forwarded')
    const forwarded = reader.updates[1]!
    expect(forwarded).not.toEqual(both)
    expect(Y.encodeStateVectorFromUpdate(forwarded)).toEqual(
      Y.encodeStateVectorFromUpdate(Y.diffUpdate(both, Y.encodeStateVectorFromUpdate(first))),
    )
    const copy = new Y.Doc()
    for (const update of reader.updates) Y.applyUpdate(copy, update)
    expect(copy.getText('t').toString()).toBe('hello, world')
    // Nothing held twice: the first update's clocks came once.
    expect(Y.parseUpdateMeta(forwarded).from.get(doc.clientID)).toBe(5)
  })
})
