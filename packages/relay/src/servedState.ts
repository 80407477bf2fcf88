/**
 * Owns what a cluster's relays serve of a document's stored log, for tools
 * that read a store directly (a backup, a check of the store): two relays
 * may both have stored content under one id, and a load keeps the first in
 * the log's order and quarantines the other (see quarantine.ts). Merging
 * the rows as they are would keep either one, as Yjs picks.
 */
import { admitLog } from './quarantine.js'
import { mergeUpdates } from './yjsUpdates.js'

/** One update holding what a relay loading `log` (oldest row first) serves; undefined for an empty log. */
export const servedState = (log: readonly Uint8Array[]): Uint8Array | undefined => {
  const { updates } = admitLog(log)
  return updates.length === 0 ? undefined : mergeUpdates(updates)
}
