/**
 * Owns the set-up of the client's clock-squat tests (issue 14, item 3): a device that writes
 * offline under its client id, a squatter that writes other content under the same clocks on the
 * relay first, and how the outcome is read back from the relay (what it stores, what a fresh
 * reader gets).
 */
import { NativeTestClient } from '@concord/relay/testing'
import * as Y from 'yjs'
import type { ClientOptions } from '../client.js'
import { forget, freshStoreName, makeClient, type relayOnFixedPort } from './clientHarness.js'
import { FaultInjectingLocalStore } from './faultInjectingLocalStore.js'

export type Relay = Awaited<ReturnType<typeof relayOnFixedPort>>

/** What the relay stores for `doc`, as one Y.Doc. */
export const stored = async (relay: Relay, doc: string): Promise<Y.Doc> => {
  const state = new Y.Doc()
  for (const update of await relay.current.store.load(doc)) Y.applyUpdate(state, update)
  return state
}

/** A fresh reader's copy of `doc`. */
export const freshRead = async (relay: Relay, doc: string): Promise<Y.Doc> => {
  const reader = await NativeTestClient.connect(relay.url)
  const opened = reader.open(doc)
  await reader.whenSynced(doc)
  reader.close()
  return opened.doc
}

/**
 * Writes `edit` on a Y.Doc under `victimId`, from the relay's current state of `doc` (so at the
 * victim's next clocks), and sends it to the relay as a raw writer would.
 */
export const squat = async (relay: Relay, doc: string, victimId: number, edit: (doc: Y.Doc) => void): Promise<void> => {
  const forger = await NativeTestClient.connect(relay.url)
  const forged = forger.open(doc)
  await forger.whenSynced(doc)
  const squatter = new Y.Doc()
  Y.applyUpdate(squatter, Y.encodeStateAsUpdate(forged.doc))
  const before = Y.encodeStateVector(squatter)
  squatter.clientID = victimId
  edit(squatter)
  Y.applyUpdate(forged.doc, Y.encodeStateAsUpdate(squatter, before))
  await forger.whenAcked(doc)
  forger.close()
}

/** Where a device keeps its documents: its own IndexedDB database (`name`), or a store the test holds. */
export type Device = Required<Pick<ClientOptions, 'name'>> | Required<Pick<ClientOptions, 'store'>>

/**
 * `edit` of `doc`, written on `device` (by default a fresh database) by a client that never
 * connects, so stored there as pending; returns the device, with the client id the edit was
 * written under. A device store the test holds is left open.
 */
export const offlineEdit = async <D extends Device = { name: string }>(
  url: string,
  doc: string,
  edit: (doc: Y.Doc) => void,
  device: D = { name: freshStoreName() } as D,
): Promise<D & { victimId: number }> => {
  const offline = makeClient(url, { ...device, connect: false })
  const draft = offline.open(doc)
  await draft.whenLoaded()
  const victimId = draft.doc.clientID
  edit(draft.doc)
  if ('store' in device) {
    await draft.close()
  } else {
    forget(offline)
    await offline.destroy()
  }
  return { ...device, victimId }
}

const insertAtStart = (text: string) => (doc: Y.Doc) => doc.getText('t').insert(0, text)

/**
 * A device (by default a fresh database) that typed `offline` in `doc` while a squatter wrote
 * `forged` under the same clocks on the relay first: what most of the tests start from.
 */
export const squattedDevice = async <D extends Device = { name: string }>(
  relay: Relay,
  doc: string,
  device?: D,
): Promise<D & { victimId: number }> => {
  const squatted = await offlineEdit(relay.url, doc, insertAtStart('offline'), device)
  await squat(relay, doc, squatted.victimId, insertAtStart('forged '))
  return squatted
}

/** A fault-injecting device store that outlives the clients of a test, as a device's store outlives a page. */
export class KeptOpenStore extends FaultInjectingLocalStore {
  override close(): Promise<void> {
    return Promise.resolve()
  }
}
