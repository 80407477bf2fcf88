/**
 * Owns what the relay reports about its work to whoever watches it: the
 * counts and timings that metrics are made of, as plain method calls, so the
 * library depends on no metrics client. apps/relay turns them into
 * Prometheus metrics. Every method is optional and must not throw.
 */
import type { DocStore } from './docStore.js'
import type { WireMode } from './wireMode.js'

/** Which party started the closing handshake: the relay (with one of its close codes) or the client. */
export type ClosedBy = 'relay' | 'client'

export type StoreOperation = 'load' | 'append' | 'compact'

export interface RelayObserver {
  /** A WebSocket upgrade was accepted. */
  connectionOpened?(mode: WireMode): void
  /** A connection closed: `code` is the one the relay sent when it closed it, else the one the client sent (1005 for none, 1006 for a dropped connection). */
  connectionClosed?(mode: WireMode, code: number, by: ClosedBy): void
  /** One WebSocket message arrived (before any check), of `bytes` bytes. */
  messageReceived?(mode: WireMode, bytes: number): void
  /** One WebSocket message was handed to the socket, of `bytes` bytes. */
  messageSent?(mode: WireMode, bytes: number): void
  /** One update is durable in the store. */
  updateStored?(bytes: number): void
  /** A store operation failed (the relay refuses the document, or retries a compaction later). */
  storeFailed?(operation: StoreOperation): void
  /**
   * An update was quarantined (kept aside, not served): one read from the store that contradicts
   * updates stored before it or cannot be merged (`store`), or news from another relay that
   * contradicts what this relay holds (`relay`).
   */
  updateQuarantined?(from: 'store' | 'relay'): void
  /** A native ack was sent, covering an update frame received `seconds` ago. Called once per acknowledged frame. */
  updateAcknowledged?(seconds: number): void
  /** A user's hook threw, returned something invalid, or did not settle in time. */
  hookFailed?(hook: 'loadDocument' | 'onChange' | 'onDelete'): void
  /** Retention deleted `count` old automatic versions (see versionThinning.ts). */
  versionsThinned?(count: number): void
  /** Retention could not list or delete the versions of a document, or list the documents. */
  thinningFailed?(): void
}

/**
 * `store`, reporting each durable append and each failure to `observer`. The
 * promises returned are the store's own, so watching adds nothing to the
 * time an ack takes.
 */
export const observedStore = (store: DocStore, observer: RelayObserver): DocStore => ({
  load: (doc) => {
    const loading = store.load(doc)
    loading.catch(() => observer.storeFailed?.('load'))
    return loading
  },
  append: (doc, update, events) => {
    const appending = store.append(doc, update, events)
    appending.then(
      () => observer.updateStored?.(update.byteLength),
      () => observer.storeFailed?.('append'),
    )
    return appending
  },
  ...(store.loadRows && {
    loadRows: (doc: string, after?: string, through?: string) => {
      const loading = store.loadRows!(doc, after, through)
      loading.catch(() => observer.storeFailed?.('load'))
      return loading
    },
  }),
  compact: (doc, merge) => {
    const compacting = store.compact(doc, merge)
    compacting.catch(() => observer.storeFailed?.('compact'))
    return compacting
  },
  ...(store.compactTo && {
    compactTo: (doc: string, state: Uint8Array) => {
      const compacting = store.compactTo!(doc, state)
      compacting.catch(() => observer.storeFailed?.('compact'))
      return compacting
    },
  }),
  ...(store.quarantine && { quarantine: store.quarantine.bind(store) }),
  ...(store.loadQuarantined && { loadQuarantined: store.loadQuarantined.bind(store) }),
  ...(store.contest && { contest: store.contest.bind(store) }),
  ...(store.loadContested && { loadContested: store.loadContested.bind(store) }),
  ping: () => store.ping(),
  ...(store.list && { list: store.list.bind(store) }),
  ...(store.remove && { remove: store.remove.bind(store) }),
  ...(store.saveVersion && { saveVersion: store.saveVersion.bind(store) }),
  ...(store.listVersions && { listVersions: store.listVersions.bind(store) }),
  ...(store.loadVersion && { loadVersion: store.loadVersion.bind(store) }),
  ...(store.deleteVersions && { deleteVersions: store.deleteVersions.bind(store) }),
  ...(store.claimOutbox && { claimOutbox: store.claimOutbox.bind(store) }),
  ...(store.ackOutbox && { ackOutbox: store.ackOutbox.bind(store) }),
  ...(store.retryOutbox && { retryOutbox: store.retryOutbox.bind(store) }),
  ...(store.recordEvents && { recordEvents: store.recordEvents.bind(store) }),
  ...(store.outboxStats && { outboxStats: store.outboxStats.bind(store) }),
  close: () => store.close(),
})
