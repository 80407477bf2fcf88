/**
 * Owns the relay's patience with its store: every load, append and compact
 * it makes rejects with a StoreTimeoutError if the store has not answered
 * within the timeout, so a store that hangs (a disk that stalls, a database
 * that stopped answering) refuses documents (4503) instead of holding their
 * clients, and the frames they sent, forever. The store's own call goes on;
 * its late answer is ignored.
 */
import type { DocStore, NewVersion } from './docStore.js'
import { StoreTimeoutError } from './errors.js'
import type { OutboxEvent } from './webhookOutbox.js'

const within = <T>(operation: string, timeoutMs: number, call: Promise<T>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(operation, timeoutMs)), timeoutMs)
    call.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })

/** `store`, with a timeout on each load, append, compact (and compactTo), quarantine, remove and saveVersion. The others are the store's own. */
export const timedStore = (store: DocStore, timeoutMs: number): DocStore => {
  const { quarantine, loadQuarantined, list, remove, saveVersion, listVersions, loadVersion, deleteVersions } = store
  const { claimOutbox, ackOutbox, retryOutbox, outboxStats, recordEvents, loadRows, contest, loadContested } = store
  const { compactTo } = store
  return {
    load: (doc) => within('load', timeoutMs, store.load(doc)),
    ...(loadRows && {
      loadRows: (doc: string, after?: string) => within('load', timeoutMs, loadRows.call(store, doc, after)),
    }),
    append: (doc, update, events) => within('append', timeoutMs, store.append(doc, update, events)),
    compact: (doc, merge) => within('compact', timeoutMs, store.compact(doc, merge)),
    ...(compactTo && {
      compactTo: (doc: string, state: Uint8Array) => within('compact', timeoutMs, compactTo.call(store, doc, state)),
    }),
    ...(quarantine && {
      quarantine: (doc: string, update: Uint8Array, reason: string) =>
        within('quarantine', timeoutMs, quarantine.call(store, doc, update, reason)),
    }),
    ...(contest && {
      contest: (doc: string, clients: readonly number[]) =>
        within('contest', timeoutMs, contest.call(store, doc, clients)),
    }),
    ...(loadContested && {
      loadContested: (doc: string) => within('load', timeoutMs, loadContested.call(store, doc)),
    }),
    ...(loadQuarantined && { loadQuarantined: (doc: string) => loadQuarantined.call(store, doc) }),
    ...(list && { list: list.bind(store) }),
    ...(remove && {
      remove: (doc: string, events?: readonly OutboxEvent[]) =>
        within('remove', timeoutMs, remove.call(store, doc, events)),
    }),
    // The outbox's delivery has its own patience (its lease).
    ...(claimOutbox && { claimOutbox: claimOutbox.bind(store) }),
    ...(ackOutbox && { ackOutbox: ackOutbox.bind(store) }),
    ...(retryOutbox && { retryOutbox: retryOutbox.bind(store) }),
    ...(outboxStats && { outboxStats: outboxStats.bind(store) }),
    ...(recordEvents && {
      recordEvents: (events: readonly OutboxEvent[]) =>
        within('recordEvents', timeoutMs, recordEvents.call(store, events)),
    }),
    ...(saveVersion && {
      saveVersion: (doc: string, version: NewVersion) =>
        within('saveVersion', timeoutMs, saveVersion.call(store, doc, version)),
    }),
    ...(listVersions && { listVersions: listVersions.bind(store) }),
    ...(loadVersion && { loadVersion: loadVersion.bind(store) }),
    ...(deleteVersions && { deleteVersions: deleteVersions.bind(store) }),
    ping: () => store.ping(),
    close: () => store.close(),
  }
}
