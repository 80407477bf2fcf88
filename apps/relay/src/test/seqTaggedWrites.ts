/**
 * Owns the bookkeeping of a crash test: writes pushed into an array of a
 * test client's document, each remembered with the sequence number of the
 * frame that carried it, so that after a kill the test can tell which
 * writes the relay had acknowledged and must still serve.
 */
import type * as Y from 'yjs'

interface SeqSource {
  readonly doc: Y.Doc
  /** The seq of the last frame sent. */
  readonly sentSeq: number
  /** The highest seq the relay acknowledged. */
  readonly ackedSeq: number
}

export class SeqTaggedWrites {
  readonly #seqOfWrite = new Map<string, number>()
  #written = 0

  constructor(
    private readonly entry: SeqSource,
    readonly arrayName = 'writes',
  ) {}

  /** Pushes `count` new writes, one transaction each. */
  burst(count: number): void {
    const list = this.entry.doc.getArray<string>(this.arrayName)
    for (let i = 0; i < count; i++) {
      const id = `w${++this.#written}`
      list.push([id])
      this.#seqOfWrite.set(id, this.entry.sentSeq)
    }
  }

  /** The writes the relay had acknowledged when the ack was `acked` (default: the latest). */
  acknowledged(acked = this.entry.ackedSeq): string[] {
    return [...this.#seqOfWrite].filter(([, seq]) => seq <= acked).map(([id]) => id)
  }
}
