/**
 * Owns one document's sync with the relay over the client's shared
 * connection: opening it there, sync steps 1 and 2, the sequence numbers of
 * what it sends, acks and refusals, reopening a document the relay could not
 * serve, and the presence that goes through the relay.
 *
 * Its state on the relay is one of:
 *
 *   closed     not open on this connection: offline, not loaded yet, or closed
 *   open       `open` sent; `relayStateReceived` once the relay's step 2 came
 *   reopening  the relay closed it (e.g. 4503, its store failed): reopened after a backoff
 *   refused    the relay refused it for good (forbidden, invalid name, deleted): stays out
 *
 * Sequence numbers belong to one opening of the document on one connection:
 * each reopening starts at 1 again, every pending edit goes into the step 2
 * that answers the relay's step 1, and only that step 2's ack settles the
 * edits sent before it. A frame the relay refuses settles nothing: its edits
 * stay pending until a later opening gets them accepted.
 */
import { closeCodes, decodeAwarenessUpdate, type NativeFrame } from '@concord/protocol/core'
import {
  applyAwarenessUpdate,
  encodeAwarenessUpdate,
  removeAwarenessStates,
  type Awareness,
} from 'y-protocols/awareness'
import * as Y from 'yjs'
import { createBackoff, type Backoff, type BackoffOptions } from './backoff.js'
import { ConcordError } from './errors.js'
import type { LocalLog } from './localLog.js'
import type { PendingEdit } from './pendingEdits.js'
import { fromRelay, fromTab } from './origins.js'
import type { ConnectionStatus } from './syncStatus.js'

/** What a document's sync needs from the client's connection to the relay. */
export interface RelayLink {
  readonly status: ConnectionStatus
  /** Sends a frame if the connection is open; returns false when it is not. */
  send(frame: NativeFrame): boolean
  /**
   * The server speaks first, before the document is opened (a y-websocket
   * server, one document per socket): keep its frames until the document can
   * open. Otherwise a frame before `open` belongs to an earlier opening.
   */
  readonly serverSpeaksFirst?: boolean
}

type RelayState =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; relayStateReceived: boolean }
  | { readonly kind: 'reopening'; readonly timer: ReturnType<typeof setTimeout> }
  | { readonly kind: 'refused'; readonly code: number }

export interface DocSyncOptions {
  readonly id: string
  readonly doc: Y.Doc
  readonly awareness: Awareness
  readonly log: LocalLog
  readonly link: RelayLink
  /**
   * Open on the relay only once this resolves: a closed handle of the same
   * document left it on this connection, and frames of that opening may still
   * be on their way, which must not be taken for this one's.
   */
  readonly after?: Promise<void> | undefined
  /** The delays before reopening a document the relay closed; the connection's backoff by default. */
  readonly reopenBackoff?: BackoffOptions | undefined
  readonly changed: () => void
  readonly error: (error: ConcordError) => void
  /** The relay deleted the document (4404): it will never be served again. */
  readonly deleted: () => void
  /**
   * The relay refused this client's own edits because another writer holds
   * other content under their clocks (a squat, see ./clockFork.ts): `client`
   * from `clock` on is taken. Without it, the refusal is only reported.
   */
  readonly clocksTaken?: ((taken: TakenClocks) => void) | undefined
}

/** Clocks of a client whose content the relay holds otherwise than this replica. */
export interface TakenClocks {
  readonly client: number
  readonly clock: number
}

/** How the relay names the first clock where a refused update contradicts what it holds (admitUpdate.ts). */
const contradictionAt = /contradicts what the document holds at (\d+):(\d+)/

/** Codes after which the relay will refuse the document again whatever is tried: do not reopen. */
const refusedForGood = new Set<number>([
  closeCodes.forbidden,
  closeCodes.invalidDocumentName,
  closeCodes.documentDeleted,
])

export class DocSync {
  readonly #id: string
  readonly #doc: Y.Doc
  readonly #awareness: Awareness
  readonly #log: LocalLog
  readonly #link: RelayLink
  readonly #options: DocSyncOptions
  readonly #reopenBackoff: Backoff
  #connection: ConnectionStatus = 'offline'
  #relay: RelayState = { kind: 'closed' }
  /** Bumped on every connection change and every opening, so work begun for an old one can tell. */
  #epoch = 0
  #lastSeq = 0
  /** Frames that arrived on the current connection before the document could open on it (a y-websocket server speaks first). */
  #earlyFrames: NativeFrame[] = []
  /** Clients whose presence came through the relay: it is stale once the connection is gone. */
  readonly #presenceFromRelay = new Set<number>()
  /**
   * This opening's step 2 is sent. Edits made before it ride in it rather
   * than go ahead of it: alone, one could reach the relay before the pending
   * edits it builds on, which only the step 2 carries, and a relay that lost
   * those (a crash) or refused them (a squat) would store it unreadable.
   */
  #step2Sent = false
  /** The codes the relay refused frames with on this opening: each is reported once an opening. */
  readonly #refusedCodes = new Set<number>()
  /** Until `after` resolves. */
  #waiting: boolean
  #closed = false

  constructor(options: DocSyncOptions) {
    this.#id = options.id
    this.#doc = options.doc
    this.#awareness = options.awareness
    this.#log = options.log
    this.#link = options.link
    this.#options = options
    this.#reopenBackoff = createBackoff(options.reopenBackoff)
    this.#waiting = options.after !== undefined
    void Promise.all([this.#log.whenLoaded(), options.after]).then(() => {
      this.#waiting = false
      if (this.#mayOpen()) this.#open()
    })
  }

  #mayOpen(): boolean {
    return (
      !this.#closed &&
      !this.#waiting &&
      this.#log.loaded &&
      this.#connection === 'open' &&
      this.#relay.kind === 'closed'
    )
  }

  get connection(): ConnectionStatus {
    return this.#connection
  }

  /** The document is open on the current connection: frames about it (history requests) may go. */
  get openOnRelay(): boolean {
    return this.#relay.kind === 'open'
  }

  /** The relay's state arrived on the current opening. */
  get relayStateReceived(): boolean {
    return this.#relay.kind === 'open' && this.#relay.relayStateReceived
  }

  connectionChanged(status: ConnectionStatus): void {
    if (this.#closed || status === this.#connection) return
    this.#connection = status
    this.#forgetPresenceFromRelay()
    this.#earlyFrames = []
    const refused = this.#relay.kind === 'refused'
    this.#reset(refused ? this.#relay : { kind: 'closed' })
    if (this.#mayOpen()) this.#open()
    this.#options.changed()
  }

  /** A frame the relay sent for this document. */
  receive(frame: NativeFrame): void {
    if (this.#closed) return
    if (this.#relay.kind !== 'open') {
      // Only a server that speaks first sends for a document before it is open; any other frame here
      // belongs to an earlier opening.
      const early = this.#link.serverSpeaksFirst && this.#connection === 'open' && this.#relay.kind === 'closed'
      if (early) this.#earlyFrames.push(frame)
      return
    }
    switch (frame.type) {
      case 'sync':
        if (frame.sync.type === 'step1') {
          void this.#answerStep1(frame.sync.stateVector)
          return
        }
        this.#apply(frame.sync.update)
        if (frame.sync.type === 'step2' && this.#relay.kind === 'open') {
          this.#relay.relayStateReceived = true
          this.#reopenBackoff.reset()
          this.#options.changed()
        }
        return
      case 'ack':
        this.#acknowledge(frame.seq)
        return
      case 'refused':
        this.#refused(frame.seq, frame.code, frame.reason)
        return
      case 'awareness':
        applyAwarenessUpdate(this.#awareness, frame.update, fromRelay)
        for (const { clientId } of decodeAwarenessUpdate(frame.update)) this.#presenceFromRelay.add(clientId)
        return
      case 'queryAwareness':
        this.#sendLocalAwareness()
        return
      case 'error':
        this.#closedByRelay(frame.code, frame.reason)
        return
      default:
        return
    }
  }

  /** An edit that may go to the network now (it is stored, or its store failed). */
  offer(edit: PendingEdit): void {
    if (this.#closed || this.#relay.kind !== 'open' || !this.#step2Sent || !edit.update) return
    edit.seq = this.#sendSync({ type: 'update', update: edit.update })
  }

  /** A change of this client's presence, or of another tab's, to pass on to the relay. */
  sendAwareness(update: Uint8Array): void {
    if (this.#relay.kind === 'open') this.#send({ type: 'awareness', doc: this.#id, update })
  }

  /** Another tab's presence is its own to keep, whatever the relay said of that client before. */
  tabSpokeFor(clientIds: readonly number[]): void {
    for (const clientId of clientIds) this.#presenceFromRelay.delete(clientId)
  }

  /** Leaves the document on the relay; sends nothing ever after. */
  close(): void {
    if (this.#closed) return
    if (this.#relay.kind === 'open') this.#send({ type: 'close', doc: this.#id })
    this.#reset({ kind: 'closed' })
    this.#closed = true
  }

  #apply(update: Uint8Array): void {
    try {
      Y.applyUpdate(this.#doc, update, fromRelay)
    } catch (error) {
      // Yjs applied the update and emitted it before the app's observer threw: our state is whole. Carry on.
      this.#options.error(
        new ConcordError('observer', `an observer of "${this.#id}" threw while an update was applied`, this.#id, {
          cause: error,
        }),
      )
    }
  }

  /** Moves to `next`, forgetting everything that belonged to the opening before. */
  #reset(next: RelayState): void {
    if (this.#relay.kind === 'reopening') clearTimeout(this.#relay.timer)
    this.#relay = next
    this.#epoch++
    this.#lastSeq = 0
    this.#step2Sent = false
    this.#refusedCodes.clear()
    for (const edit of this.#log.pendingEdits()) edit.seq = 0
  }

  #open(): void {
    if (this.#closed || !this.#send({ type: 'open', doc: this.#id })) return
    this.#advanceLocalAwarenessClock()
    this.#relay = { kind: 'open', relayStateReceived: false }
    this.#send({
      type: 'sync',
      doc: this.#id,
      seq: 0,
      sync: { type: 'step1', stateVector: Y.encodeStateVector(this.#doc) },
    })
    this.#sendLocalAwareness()
    for (const frame of this.#earlyFrames.splice(0)) this.receive(frame)
  }

  #closedByRelay(code: number, reason: string): void {
    this.#options.error(ConcordError.fromRelay(code, reason, this.#id))
    if (refusedForGood.has(code)) {
      this.#reset({ kind: 'refused', code })
      if (code === closeCodes.documentDeleted) this.#options.deleted()
    } else {
      // The relay's store failed, or it was busy: the other documents carry on, and this one comes back by itself.
      const timer = setTimeout(() => {
        if (this.#relay.kind !== 'reopening' || this.#closed) return
        this.#reset({ kind: 'closed' })
        if (this.#mayOpen()) this.#open()
        this.#options.changed()
      }, this.#reopenBackoff.next())
      this.#reset({ kind: 'reopening', timer })
    }
    this.#options.changed()
  }

  /** Sends what the relay lacks, once every edit in the doc has had its first chance to be stored. */
  async #answerStep1(stateVector: Uint8Array): Promise<void> {
    const epoch = this.#epoch
    await this.#log.whenSettled()
    if (epoch !== this.#epoch || this.#closed || this.#relay.kind !== 'open') return
    const seq = this.#sendSync({
      type: 'step2',
      update: Y.encodeStateAsUpdate(this.#doc, this.#unclaimed(stateVector)),
    })
    this.#step2Sent = true
    // Every pending edit is settled by this step 2's ack: it carries them all.
    for (const edit of this.#log.pendingEdits()) edit.seq = seq
  }

  /**
   * The relay's state vector, but no further on for a client than where its
   * pending edits begin: the relay claiming those clocks does not mean it
   * holds these edits (another writer may have sent other content under
   * them), so the step 2 carries them whole and the relay compares.
   */
  #unclaimed(stateVector: Uint8Array): Uint8Array {
    const claimed = Y.decodeStateVector(stateVector)
    let lowered = false
    for (const edit of this.#log.pendingEdits()) {
      for (const [client, clock] of edit.from) {
        const relayClock = claimed.get(client)
        if (relayClock === undefined || relayClock <= clock) continue
        claimed.set(client, clock)
        lowered = true
      }
    }
    return lowered ? Y.encodeStateVector(claimed) : stateVector
  }

  #sendSync(sync: { type: 'step2' | 'update'; update: Uint8Array }): number {
    const seq = ++this.#lastSeq
    this.#send({ type: 'sync', doc: this.#id, seq, sync })
    return seq
  }

  #send(frame: NativeFrame): boolean {
    return !this.#closed && this.#link.send(frame)
  }

  #acknowledge(seq: number): void {
    const acknowledged: PendingEdit[] = []
    for (const edit of this.#log.pendingEdits()) if (edit.seq > 0 && edit.seq <= seq) acknowledged.push(edit)
    if (acknowledged.length > 0) this.#log.acknowledged(acknowledged)
  }

  /**
   * The relay will never store frame `seq`: its edits stay pending, and are
   * sent again on the next opening. Reported once an opening for each code, so
   * a read-only reader who keeps typing is told once, not at every keystroke.
   */
  #refused(seq: number, code: number, reason: string): void {
    let edits = 0
    let taken: TakenClocks | undefined
    const contradiction = code === closeCodes.invalidUpdate ? contradictionAt.exec(reason) : null
    for (const edit of this.#log.pendingEdits()) {
      if (edit.seq !== seq) continue
      edit.seq = -1
      edits++
      if (!contradiction) continue
      const [client, clock] = [Number(contradiction[1]), Number(contradiction[2])]
      const from = edit.from.get(client)
      // This replica only writes valid content: where its own edit contradicts the relay, someone took its clocks.
      if (from !== undefined && from <= clock) taken = { client, clock }
    }
    this.#options.changed()
    if (taken && this.#options.clocksTaken) {
      this.#options.clocksTaken(taken)
      return
    }
    // A refused frame that carried no edit of this client's (a read-only reader's empty step 2) says nothing to the app.
    if (edits === 0 || this.#refusedCodes.has(code)) return
    this.#refusedCodes.add(code)
    this.#options.error(
      new ConcordError(
        'refused',
        `the relay refused ${edits} edit${edits === 1 ? '' : 's'} of "${this.#id}": ${reason || `code ${code}`}`,
        this.#id,
        { closeCode: code },
      ),
    )
  }

  /** Who was here through the relay is unknown without it; other tabs still speak for themselves. */
  #forgetPresenceFromRelay(): void {
    // The Awareness's id, not the doc's, which Yjs changes when someone else writes under it.
    const stale = [...this.#presenceFromRelay].filter((clientId) => clientId !== this.#awareness.clientID)
    this.#presenceFromRelay.clear()
    if (stale.length > 0) removeAwarenessStates(this.#awareness, stale, fromRelay)
  }

  /**
   * Awareness keeps the state with the highest clock, and a removal wins a
   * tie. When this client's last connection closed, the relay told the others
   * it left with a clock one past the last it saw; when the relay itself went
   * away, the others dropped this client at its current clock. Announced
   * again at the same clock, the state would be ignored until Awareness
   * renews it (15 s, twice over for the first case): two renewals now put it
   * past both. Called before the document counts as open, so neither is sent.
   */
  #advanceLocalAwarenessClock(): void {
    const state = this.#awareness.getLocalState()
    if (state === null) return
    this.#awareness.setLocalState(state)
    this.#awareness.setLocalState(state)
  }

  #sendLocalAwareness(): void {
    if (this.#awareness.getLocalState() === null) return
    // The Awareness's id, not the doc's: Yjs gives the doc a new one when someone else writes under it.
    const update = encodeAwarenessUpdate(this.#awareness, [this.#awareness.clientID])
    this.#send({ type: 'awareness', doc: this.#id, update })
  }
}

/** Origins of awareness changes that came from elsewhere: not to be sent on. */
export const isForeignAwarenessOrigin = (origin: unknown): boolean => origin === fromRelay || origin === fromTab
