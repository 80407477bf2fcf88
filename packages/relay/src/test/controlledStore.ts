/**
 * Owns a DocStore for fault tests: a MemoryDocStore whose loads can be made
 * to fail and whose appends can be held (not durable until released) or
 * made to fail.
 */
import type { DocStore } from '../docStore.js'
import { MemoryDocStore } from '../memoryDocStore.js'

export class ControlledStore implements DocStore {
  readonly inner = new MemoryDocStore()
  failLoads = false
  failAppends = false
  #held: Array<() => void> | undefined

  /** From now on, appends wait until `release()`. */
  hold(): void {
    this.#held ??= []
  }

  get heldAppends(): number {
    return this.#held?.length ?? 0
  }

  release(): void {
    const held = this.#held ?? []
    this.#held = undefined
    for (const run of held) run()
  }

  load(doc: string): Promise<Uint8Array[]> {
    if (this.failLoads) return Promise.reject(new Error('disk on fire (load)'))
    return this.inner.load(doc)
  }

  append(doc: string, update: Uint8Array): Promise<void> {
    if (this.failAppends) return Promise.reject(new Error('disk on fire (append)'))
    const held = this.#held
    if (!held) return this.inner.append(doc, update)
    return new Promise((resolve, reject) => held.push(() => this.inner.append(doc, update).then(resolve, reject)))
  }

  compact(doc: string, merge: (updates: Uint8Array[]) => Uint8Array): Promise<number> {
    return this.inner.compact(doc, merge)
  }

  ping(): Promise<void> {
    return this.inner.ping()
  }

  close(): Promise<void> {
    this.release()
    return this.inner.close()
  }
}
