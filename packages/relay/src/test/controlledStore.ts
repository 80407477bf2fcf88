/**
 * Owns the switches the older fault tests flip: a FaultInjectingDocStore
 * over a MemoryDocStore, with loads and appends that can be made to fail
 * and appends that can be held (not durable until released). New tests use
 * FaultInjectingDocStore's rules directly.
 */
import { FaultInjectingDocStore, type FaultRule, type StallRule } from './faultInjectingDocStore.js'

export class ControlledStore extends FaultInjectingDocStore {
  #failingLoads: FaultRule | undefined
  #failingAppends: FaultRule | undefined
  #holding: StallRule | undefined

  get failLoads(): boolean {
    return this.#failingLoads !== undefined
  }

  set failLoads(fail: boolean) {
    this.#failingLoads?.clear()
    this.#failingLoads = fail ? this.fail('load', { error: () => new Error('disk on fire (load)') }) : undefined
  }

  get failAppends(): boolean {
    return this.#failingAppends !== undefined
  }

  set failAppends(fail: boolean) {
    this.#failingAppends?.clear()
    this.#failingAppends = fail ? this.fail('append', { error: () => new Error('disk on fire (append)') }) : undefined
  }

  /** From now on, appends wait until `release()`. */
  hold(): void {
    this.#holding ??= this.stall('append')
  }

  get heldAppends(): number {
    return this.waiting('append')
  }

  release(): void {
    this.#holding?.release()
    this.#holding = undefined
  }
}
