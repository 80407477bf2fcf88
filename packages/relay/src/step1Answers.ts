/**
 * Owns how a room answers a peer's sync step 1: with a step 2 of what the room holds beyond the
 * peer's state vector (for an empty one, the whole state as one frame shared by every joiner: see
 * roomFrames.ts), or, for a reader that merges itself, the held updates unmerged. In cluster mode a
 * step 1 that arrives while read-back checks are under way is answered once they are done, with
 * what the room held when it arrived: so that it never carries an update the log may still set
 * aside, neither one whose check was under way then nor one admitted while the answer waited (whose
 * own check may not be done; once it is, the room forwards it to this peer like to every other).
 * The answer settles as the step 1's outcome: once every write begun before it has.
 */
import { ProtocolError } from '@concord/protocol'
import { DocumentState, isEmptyStateVector } from './documentState.js'
import { heldContent } from './heldContent.js'
import type { ReadBackChecks } from './readBackChecks.js'
import { encodeFor, WholeStateFrames } from './roomFrames.js'
import { confirmDurable, type RoomPeer, type SyncOutcome } from './roomPeer.js'
import * as Y from 'yjs'

/** What of its room an answer reads. */
export interface Step1Room {
  readonly name: string
  /** The loaded document. */
  readonly state: () => DocumentState
  /** Runs a merge; undefined when it failed, and the room refused every peer (see Room#guard). */
  readonly guard: <T>(merge: () => T) => T | undefined
  /** Durable once everything stored before it is. */
  readonly afterLastWrite: () => Promise<SyncOutcome>
  /** Whether the room still serves `peer`: it is ready, and `peer` in it. */
  readonly serves: (peer: RoomPeer) => boolean
  /** Cluster mode: the checks an answer waits for. */
  readonly readBack: ReadBackChecks | undefined
}

/** Throws the protocol's error for a state vector that does not decode, before its answer is put off. */
const checkStateVector = (stateVector: Uint8Array): void => {
  try {
    Y.decodeStateVector(stateVector)
  } catch (error) {
    throw new ProtocolError('malformedMessage', 'the state vector does not decode', { cause: error })
  }
}

export class Step1Answers {
  readonly #wholeStateFrames: WholeStateFrames

  constructor(private readonly room: Step1Room) {
    this.#wholeStateFrames = new WholeStateFrames(room.name)
  }

  /** Answers `peer`'s step 1 of `stateVector`; settles as its outcome (see the module's comment). */
  answer(peer: RoomPeer, stateVector: Uint8Array): Promise<SyncOutcome | undefined> | undefined {
    const { readBack } = this.room
    if (readBack?.inFlight) {
      // Cluster mode: the room holds updates the log may still set aside; answer once they are checked,
      // with what it holds now (see the module's comment).
      checkStateVector(stateVector)
      const state = this.room.state()
      const [held, additions] = [state.held(), state.additions]
      return readBack
        .done()
        .then(() =>
          this.room.serves(peer)
            ? this.#answerNow(peer, stateVector, state.additions === additions ? state : new DocumentState(held))
            : undefined,
        )
    }
    return this.#answerNow(peer, stateVector, this.room.state())
  }

  /** The room is gone: the kept whole-state frames are dropped. */
  clear(): void {
    this.#wholeStateFrames.clear()
  }

  /** Sends `peer` what `state` holds beyond `stateVector` (a step 2); settles as a step 1's outcome. */
  #answerNow(
    peer: RoomPeer,
    stateVector: Uint8Array,
    state: DocumentState,
  ): Promise<SyncOutcome | undefined> | undefined {
    if (peer.unmerged && isEmptyStateVector(stateVector)) {
      // No merge on this thread, which every live client shares: the reader merges.
      peer.unmerged(state.held())
      return this.room.afterLastWrite()
    }
    // Merge first, so that a corrupt document is not blamed on this peer's state vector.
    if (!this.room.guard(() => state.merge())) return undefined
    if (isEmptyStateVector(stateVector)) {
      // The same frame for every joiner of this state: one Buffer in every socket, not one copy each.
      peer.send(this.#wholeStateFrames.step2(peer.mode, state.merge()))
    } else {
      let update: Uint8Array
      try {
        update = state.diff(stateVector)
      } catch (error) {
        throw new ProtocolError('malformedMessage', 'the state vector does not decode', { cause: error })
      }
      peer.send(encodeFor(peer.mode, this.room.name, { type: 'sync', sync: { type: 'step2', update } }))
    }
    // Settles once every write begun before it has: all the room holds now is stored then.
    return confirmDurable(peer, this.room.afterLastWrite(), () => heldContent(stateVector, () => state.stateVector()))
  }
}
