/**
 * Owns telling the other relays of a cluster that a document was deleted,
 * once its tombstone is durable: a resync notice on the document's fan-out
 * channel. Each relay that has the document loaded reloads it, finds the
 * tombstone and closes its connections (4404) at once, instead of at its
 * next store call. The notice is news like any other: a relay that misses
 * it still learns at its next load or write.
 */
import type { Fanout, FanoutMember } from './fanout.js'

/** Hears nothing: the notice only needs a membership to publish from. */
const deaf: FanoutMember = {
  applyRemote: () => {},
  applyRemoteAwareness: () => {},
  removeRelay: () => {},
  resync: () => {},
  localPresence: () => undefined,
}

/** Call after the room of `doc` on this relay (if any) is gone: a fan-out has one member per document. */
export const announceDeletion = (fanout: Fanout, doc: string): void => {
  const link = fanout.join(doc, deaf)
  if (!link.publishResync) {
    link.leave()
    return
  }
  void link.ready.then(() => link.publishResync?.()).finally(() => link.leave())
}
