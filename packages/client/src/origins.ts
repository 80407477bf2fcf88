/**
 * Owns the transaction origins the client applies updates with, so each part
 * can tell a local edit from an update that came from somewhere else.
 */

/** Read from the device store at load: stored already, sent already if it had to be. */
export const fromStore = Symbol('concord: from the device store')
/** From the relay: stored here as not pending, never sent back. */
export const fromRelay = Symbol('concord: from the relay')
/** From another tab: stored and sent here too, since that tab may die first; never posted back to the tabs. */
export const fromTab = Symbol('concord: from another tab')
/** Edits of a closed handle of the same document that were not stored: recorded again as local edits. */
export const fromHandover = Symbol('concord: handed over by a closed handle')
