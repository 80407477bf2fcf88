/**
 * Owns crashing a SqliteDocStore's worker thread from its tests: the thread
 * ends as a crash would, without the store asking, through the internal key
 * `sqliteStoreWorker`. Not part of `@concord/relay/testing`: a store written
 * elsewhere has no such thread, and the relay's users have no way to reach it.
 */
import { sqliteStoreWorker, type SqliteDocStore } from '../sqliteDocStore.js'

/** Ends `store`'s worker; resolves with its exit code once it has ended. */
export const crashWorker = (store: SqliteDocStore): Promise<number> => store[sqliteStoreWorker].terminate()
