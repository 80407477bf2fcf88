/**
 * Owns what a room and one of its connections agree on: the peer as the room
 * sees it, the messages a peer hands the room, what became of a sync message
 * (SyncOutcome), and how a peer is told that its content is durable.
 */
import type { CloseCodeName, SyncMessage } from '@concord/protocol'
import type { WireMode } from './wireMode.js'

/** One connection's membership in a room, as the room sees it. */
export interface RoomPeer {
  readonly mode: WireMode
  /** Sends one frame, already encoded for this peer's wire mode and document. */
  send(frame: Uint8Array): void
  /** The room can no longer serve its document; the peer is out of the room when this is called. */
  refuse(code: CloseCodeName, reason: string): void
  /** False for read-only access: the room then drops every update and sync step 2 the peer sends. */
  readonly canWrite: boolean
  /** Who writes through this peer, for the `onChange` hook. */
  readonly by?: string | undefined
  /**
   * Content of this peer's is durable: a sync update or step 2 it sent, as it
   * sent it (what it adds is stored, what it repeats was held already; never
   * one that was dropped or refused), or, after its sync step 1, an update
   * naming what it and the room both hold (see heldContent.ts). `frame`: the y-websocket frame
   * the update came in, when it came in one.
   */
  committed?(update: Uint8Array, frame?: Uint8Array): void
  /**
   * Another peer claims the presence of a client this peer introduced: check
   * that this one is still connected, and drop it if it does not answer.
   */
  probe?(): void
  /**
   * A reader that merges the whole state itself (a version, on its worker thread): its sync step 1
   * with an empty state vector is answered with what the room holds, unmerged, instead of a step 2.
   */
  unmerged?(updates: readonly Uint8Array[]): void
  /**
   * False for a peer that never answers the room's sync step 1 (inside the relay: the HTTP API, a
   * server-side document, a version's reader, a restore): it is not greeted, as the room's state
   * vector costs a merge of the whole document when updates wait to be merged. Default: greeted.
   */
  readonly greeted?: boolean
}

export type RoomMessage =
  | {
      readonly type: 'sync'
      readonly sync: SyncMessage
      /** The y-websocket frame it came in: forwarded as it is when the room keeps the update whole. */
      readonly frame?: Uint8Array
    }
  | { readonly type: 'awareness'; readonly update: Uint8Array }
  | { readonly type: 'queryAwareness' }

/**
 * What became of one sync message, once it is settled. `durable`: what it
 * carries is in the store, or was there already (a repeat, a step 1, an empty
 * update), and so is everything the room stored before it. `dropped`: the
 * peer may only read, so nothing of it was kept. `refused`: it is invalid,
 * contradicts what the document holds, or no Yjs document could integrate
 * it; nothing of it was kept or forwarded, and the document stays open.
 */
export type SyncOutcome =
  | { readonly kind: 'durable' }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'refused'; readonly code: CloseCodeName; readonly reason: string }

export const durable: SyncOutcome = { kind: 'durable' }
export const dropped: SyncOutcome = { kind: 'dropped' }

const ignore = (): void => {}

/**
 * Tells `peer` of its `content` once `durable` resolves, if it asked to be told (a store failure
 * refuses the peer instead: see Room#fail). Only for a frame that is kept: never a dropped or refused one.
 */
export const confirmDurable = <T extends SyncOutcome | undefined>(
  peer: RoomPeer,
  durable: Promise<T>,
  content: () => Uint8Array | undefined,
  frame?: Uint8Array,
): Promise<T> => {
  const confirmed = peer.committed && content()
  if (confirmed) durable.then((outcome) => outcome?.kind === 'durable' && peer.committed?.(confirmed, frame), ignore)
  return durable
}

/**
 * Durable once `written`, the room's write of `content`, resolves; `peer` is told then, as by
 * confirmDurable. One promise per update, not two: this is the hot path of every update.
 */
export const durableOnceWritten = (
  peer: RoomPeer,
  written: Promise<unknown>,
  content: Uint8Array,
  frame?: Uint8Array,
): Promise<SyncOutcome> =>
  written.then(() => {
    peer.committed?.(content, frame)
    return durable
  })
