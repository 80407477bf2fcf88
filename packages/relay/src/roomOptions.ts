/**
 * Owns what a room is given by its relay: the store, the caps and timings of one loaded document,
 * the cluster's fanout, and the hooks it calls (see relayOptions.ts, from which these come).
 */
import type { DocStore } from './docStore.js'
import type { QuarantineSource } from './documentQuarantine.js'
import type { Fanout } from './fanout.js'
import type { Logger } from './logger.js'
import type { QueuedBytes } from './queuedBytes.js'
import type { Room } from './room.js'
import type { EventTiming } from './webhookOutbox.js'

export interface RoomOptions {
  readonly store: DocStore
  readonly logger: Logger
  /** Compact the stored log once this many updates were stored since the last compaction. */
  readonly compactAfterUpdates: number
  /** Unload the document this long after its last peer left. */
  readonly unloadAfterMs: number
  /** Drop an awareness state longer than this, in UTF-8 bytes. */
  readonly maxAwarenessStateBytes: number
  /** Messages one peer may send while the document loads; one more is refused (4429). */
  readonly maxWaitingFrames: number
  /** Bytes of the messages all peers may send while the document loads; more are refused (4429). */
  readonly maxQueuedBytes: number
  /** The same, for every room of the relay together. */
  readonly relayQueuedBytes: QueuedBytes
  /** Called once when the room is gone (unloaded, failed or closed): the registry forgets it. */
  readonly onGone: (room: Room) => void
  /** Cluster mode: the other relays serving this document. */
  readonly fanout?: Fanout | undefined
  /** Initial content for a document the store does not have; stored before the document is served. */
  readonly seed?: ((name: string) => Promise<Uint8Array | undefined>) | undefined
  /** Told of each update once it is durable, with who wrote it. */
  readonly stored?: ((name: string, update: Uint8Array, by: string | undefined) => void) | undefined
  /** An update was quarantined: read from the store (`store`) or heard from another relay (`relay`). */
  readonly onQuarantined?: (from: QuarantineSource) => void
  /**
   * The room unloaded, or closed with the relay, every write settled: `held` reads what it held,
   * unmerged (see DocumentState.held). For version history; not called for a failed or deleted room.
   */
  readonly settledGone?: ((name: string, held: () => readonly Uint8Array[] | undefined) => void) | undefined
  /** Record webhook events with each write (see documentEvents.ts), debounced so. Default: none. */
  readonly events?: EventTiming | undefined
}
