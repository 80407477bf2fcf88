/**
 * Owns the "Work offline" switch: the network environment the client
 * follows. It passes the browser's own online and offline events through,
 * and adds this tab's switch on top: switched off, the client hears
 * `offline` (it closes its socket and stops trying, as when the device loses
 * its network); switched back on, it hears `online` and reconnects at once.
 *
 * Only the connection to the relay is cut. Other tabs of this browser still
 * share edits with this one, since they share its storage: to see a
 * partition between two replicas, use two browsers or a private window.
 */
import type { NetworkEnvironment } from '@concord/client'

type NetworkEvent = 'online' | 'offline'

const storageKey = 'concord-demo:work-offline'

export class OfflineSwitch implements NetworkEnvironment {
  readonly #listeners = { online: new Set<() => void>(), offline: new Set<() => void>() }
  #workOffline: boolean

  constructor() {
    // Per tab, and kept across a reload of the tab.
    this.#workOffline = sessionStorage.getItem(storageKey) === 'true'
    window.addEventListener('online', () => this.#emit('online'))
    window.addEventListener('offline', () => this.#emit('offline'))
  }

  get navigator(): { readonly onLine: boolean } {
    return { onLine: navigator.onLine && !this.#workOffline }
  }

  get workOffline(): boolean {
    return this.#workOffline
  }

  set workOffline(value: boolean) {
    if (value === this.#workOffline) return
    this.#workOffline = value
    sessionStorage.setItem(storageKey, String(value))
    if (value) this.#emit('offline', true)
    else if (navigator.onLine) this.#emit('online')
  }

  addEventListener(type: NetworkEvent, listener: () => void): void {
    this.#listeners[type].add(listener)
  }

  removeEventListener(type: NetworkEvent, listener: () => void): void {
    this.#listeners[type].delete(listener)
  }

  #emit(type: NetworkEvent, fromSwitch = false): void {
    // While switched off, the browser coming online changes nothing.
    if (this.#workOffline && !fromSwitch && type === 'online') return
    for (const listener of [...this.#listeners[type]]) listener()
  }
}
