/**
 * Owns sharing between tabs (and workers) of one origin that use the same
 * store name: updates and awareness changes go to the other tabs at once
 * over a BroadcastChannel, with or without a relay. The tab that made an
 * update stores it and sends it; the others apply it, and store and send it
 * too, since the tab that made it may die before it does.
 */
/** What a document needs from the channel between tabs: send to the other tabs. */
export interface TabLink {
  post(doc: string, kind: 'update' | 'awareness', data: Uint8Array): void
}

interface TabMessage {
  readonly doc: string
  readonly kind: 'update' | 'awareness'
  readonly data: Uint8Array
}

export type TabMessageHandler = (kind: TabMessage['kind'], data: Uint8Array) => void

export class TabChannel implements TabLink {
  readonly #channel: BroadcastChannel
  readonly #handlers = new Map<string, TabMessageHandler>()

  constructor(storeName: string) {
    this.#channel = new BroadcastChannel(`concord:${storeName}`)
    this.#channel.onmessage = ({ data }: MessageEvent<TabMessage>) => {
      this.#handlers.get(data.doc)?.(data.kind, data.data)
    }
  }

  /** Whether this environment can share between tabs at all. */
  static get available(): boolean {
    return typeof BroadcastChannel === 'function'
  }

  post(doc: string, kind: TabMessage['kind'], data: Uint8Array): void {
    this.#channel.postMessage({ doc, kind, data } satisfies TabMessage)
  }

  /** Routes messages for `doc` to `handler` until the returned function is called. */
  subscribe(doc: string, handler: TabMessageHandler): () => void {
    this.#handlers.set(doc, handler)
    return () => {
      if (this.#handlers.get(doc) === handler) this.#handlers.delete(doc)
    }
  }

  close(): void {
    this.#handlers.clear()
    this.#channel.close()
  }
}
