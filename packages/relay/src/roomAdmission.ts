/**
 * Owns what a room lets into its loaded document, and what that decision remembers: the clocks
 * the document holds (learnt at the first local write, so that a document only read never decodes
 * its whole state), what of it waits for clocks it lacks (waitingStructs.ts), the contested clients
 * (contestedClients.ts), per peer the clocks it was refused as contradicting (refusedReferences.ts),
 * and the peers whose writes were dropped while they could only read. Each update of a peer or of
 * another relay is admitted through admitUpdate.ts, or refused, before the room holds it.
 */
import { ProtocolError } from '@concord/protocol'
import { admitUpdate, type AdmittedUpdate } from './admitUpdate.js'
import type { ContestedClients } from './contestedClients.js'
import type { DocumentQuarantine } from './documentQuarantine.js'
import type { DocumentState } from './documentState.js'
import { KnownClocks } from './knownClocks.js'
import { RefusedReferences } from './refusedReferences.js'
import { dropped, type RoomPeer, type SyncOutcome } from './roomPeer.js'
import { WaitingStructs } from './waitingStructs.js'
import { inspectUpdate, type ClockRange } from './yjsUpdates.js'

/** What of its room admission reads. */
export interface AdmissionRoom {
  /** The loaded document. */
  readonly state: () => DocumentState
  /** Runs a merge; undefined when it failed, and the room refused every peer (see Room#guard). */
  readonly guard: <T>(merge: () => T) => T | undefined
  /** Whether the room is gone (a merge admission needed failed). */
  readonly gone: () => boolean
  readonly contested: ContestedClients
  readonly quarantine: DocumentQuarantine
}

/**
 * What became of a peer's update: `new`, with what of it the room holds and stores now (its clocks
 * noted); `held`, nothing in it the document lacks; `settled`, dropped or refused, or the room
 * refused every peer (an undefined outcome).
 */
export type PeerAdmission =
  | { readonly kind: 'new'; readonly update: Uint8Array; readonly ranges: readonly ClockRange[] }
  | { readonly kind: 'held' }
  | { readonly kind: 'settled'; readonly outcome: Promise<SyncOutcome | undefined> | undefined }

const settled = (outcome: Promise<SyncOutcome | undefined> | undefined): PeerAdmission => ({
  kind: 'settled',
  outcome,
})

/** Whether any struct of `admitted` waits, in the document with it, for clocks the document lacks. */
const waitsInDocument = ({ waiting, ranges }: AdmittedUpdate): boolean =>
  waiting?.nodes.some((node) =>
    ranges.some((range) => range.client === node.client && node.start < range.end && range.start < node.end),
  ) ?? false

export class RoomAdmission {
  #knownClocks: KnownClocks | undefined
  /** What of the document waits for clocks it lacks; learnt with `#knownClocks`. */
  #waiting: WaitingStructs | undefined
  /** Peers whose writes were dropped while they could only read (see fromPeer). */
  readonly #droppedFrom = new WeakSet<RoomPeer>()
  /** Per peer, the clocks it was refused as contradicting: its items may not refer to them. */
  readonly #refusedReferences = new RefusedReferences<RoomPeer>()

  constructor(private readonly room: AdmissionRoom) {}

  /** The clocks the document holds, once known (at the load in cluster mode, else at the first write). */
  get knownClocks(): KnownClocks | undefined {
    return this.#knownClocks
  }

  /** The document was loaded: `known`, when the load learnt its clocks. */
  loaded(known: KnownClocks | undefined): void {
    this.#knownClocks = known
  }

  /** Whether writes of `peer` were dropped while it could only read. */
  droppedWritesOf(peer: RoomPeer): boolean {
    return this.#droppedFrom.has(peer)
  }

  /** Admits `received`, a sync update or step 2 of `peer`, or settles it (see PeerAdmission). */
  fromPeer(peer: RoomPeer, received: Uint8Array): PeerAdmission {
    const { contested } = this.room
    const state = this.room.state()
    // Read-only: never stored, never forwarded, never acknowledged.
    if (!peer.canWrite) {
      this.#droppedFrom.add(peer)
      return settled(Promise.resolve(dropped))
    }
    // Learnt at the first write, so that a document only read never decodes its whole state.
    if (!this.#knownClocks || !this.#waiting) {
      const held = this.room.guard(() => inspectUpdate(state.merge(), true))
      if (!held) return settled(undefined)
      this.#knownClocks ??= new KnownClocks(held.ranges)
      this.#waiting = WaitingStructs.of(held.structs)
    }
    const known = this.#knownClocks
    let admitted: AdmittedUpdate | undefined
    try {
      admitted = admitUpdate(
        received,
        known,
        () => this.room.guard(() => state.merge()),
        () => state.recent(),
        {
          contested: contested.clients,
          waiting: this.#waiting,
          contradicted: (client, clock) => this.#refusedReferences.note(peer, client, clock),
        },
      )
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.code !== 'invalidUpdate') throw error
      const refused: SyncOutcome = { kind: 'refused', code: error.code, reason: error.message }
      return settled(contested.save().then(() => refused))
    }
    // The merge that admission needed failed: the room refused every peer.
    if (this.room.gone()) return settled(undefined)
    if (!admitted) return { kind: 'held' }
    const { update, ranges } = admitted
    const reference = this.#refusedReferences.find(peer, admitted.structs)
    if (reference) {
      // Its new clocks are never filled from it: what comes after them is refused too.
      contested.add(ranges)
      const reason = `the update refers to ${reference}, which this connection was refused as contradicting`
      const refused: SyncOutcome = { kind: 'refused', code: 'invalidUpdate', reason }
      return settled(contested.save().then(() => refused))
    }
    if (this.#droppedFrom.has(peer) && waitsInDocument(admitted)) {
      // Upgraded in-band (an auth frame with a write token): what it wrote while read-only was dropped,
      // and this builds on clocks the document lacks. Stored, it could wait for good; like the dropped
      // frames, it stays the client's to send again, in the step 2 that answers the relay's step 1.
      const reason = 'the update builds on edits this connection sent while read-only, which were not stored'
      return settled(Promise.resolve({ kind: 'refused', code: 'forbidden', reason }))
    }
    known.add(ranges)
    this.#waiting = admitted.waiting ?? this.#waiting
    return { kind: 'new', update, ranges }
  }

  /**
   * Admits `received`, news from relay `relayId` (stored there already): what of it the room holds
   * now, or undefined when it brings nothing new or contradicts what this relay admitted (then
   * quarantined: see quarantine.ts).
   */
  fromRelay(received: Uint8Array, relayId: string | undefined): Uint8Array | undefined {
    // Once the room tracks its clocks (after a local write), news must keep them up to date.
    const known = this.#knownClocks
    if (!known) return received
    const state = this.room.state()
    let admitted: AdmittedUpdate | undefined
    try {
      admitted = admitUpdate(received, known, () => this.room.guard(() => state.merge()))
    } catch (error) {
      // Another relay admitted content that contradicts content this one admitted at the same time:
      // both are stored; loads and compactions keep the first in the log and set the other aside.
      this.room.quarantine.add(
        { update: received, index: -1, reason: error instanceof Error ? error.message : String(error) },
        'relay',
        relayId,
      )
      return undefined
    }
    if (!admitted) return undefined
    this.#waiting = this.#waiting?.with(admitted.structs, admitted.ranges, known, this.room.contested.clients, false)
    known.add(admitted.ranges)
    return admitted.update
  }
}
