/**
 * Owns which webhook events the writes of one loaded document cause: a
 * `document.created` with the first update stored for a document that had
 * none, and a `document.changed` with every stored update, carrying the
 * writer and the document's state vector after it. The store records them in
 * the transaction of the update (see webhookOutbox.ts). In cluster mode two
 * relays that write the first updates of a new document at once may each
 * send a `document.created`.
 */
import { outboxEvent, type EventTiming, type OutboxEvent, type StateVectorClocks } from './webhookOutbox.js'

export class DocumentEvents {
  /** The document has content: loaded with some, written to, or heard of from another relay. */
  #exists = false

  constructor(
    private readonly name: string,
    private readonly timing: EventTiming,
  ) {}

  /** The document is known to have content. */
  exists(): void {
    this.#exists = true
  }

  /**
   * Cluster mode: a `document.changed` that only brings `clocks`, once the store is known to serve
   * the update that reached them (see Room#claimClocks); it joins the waiting one.
   */
  served(clocks: StateVectorClocks): OutboxEvent {
    return outboxEvent('document.changed', this.name, [], clocks, this.timing)
  }

  /** The events of one update about to be stored, by `by`, after which the document's clocks are `clocks()`. */
  written(by: string | undefined, clocks: () => StateVectorClocks): OutboxEvent[] {
    const subjects = by === undefined ? [] : [by]
    const time = Date.now()
    const changed = outboxEvent('document.changed', this.name, subjects, clocks(), this.timing, time)
    if (this.#exists) return [changed]
    this.#exists = true
    return [outboxEvent('document.created', this.name, subjects, {}, this.timing, time), changed]
  }
}
