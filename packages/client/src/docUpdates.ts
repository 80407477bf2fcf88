/**
 * Owns the client's own listening to a Y.Doc's `update` event: its parts
 * (the local log, the handle) listen through one Yjs listener per doc, so
 * that the stored state, which none of them needs to hear about, can be
 * applied with it detached. Yjs encodes a transaction's update only while an
 * `update` listener is registered; for the automerge-paper document's
 * snapshot (311,035 bytes) that encoding took about 29 ms of a 133 ms cold
 * open in Chromium, a third of what applying it takes.
 *
 * It is detached only while it is the doc's one `update` listener: with an
 * app's listener there, Yjs encodes the update anyway, and ours must stay
 * ahead of it (an app that calls `whenSynced()` from its listener expects the
 * edit that made the update to be counted). When it is attached again, it is
 * put back ahead of any listener added meanwhile.
 */
import type * as Y from 'yjs'

/** As Yjs calls an `update` listener. */
type UpdateListener = (update: Uint8Array, origin: unknown, doc: Y.Doc, transaction: Y.Transaction) => void

interface Listening {
  readonly listeners: Set<UpdateListener>
  readonly dispatch: UpdateListener
  attached: boolean
}

const listening = new WeakMap<Y.Doc, Listening>()

/**
 * The doc's `update` listeners in the order they run: lib0's ObservableV2
 * keeps them in `_observers`, a Set per event name. Undefined if that ever
 * changes, and then nothing is detached.
 */
const updateListeners = (doc: Y.Doc): Set<unknown> | undefined => {
  const observers = (doc as unknown as { _observers?: unknown })._observers
  if (!(observers instanceof Map)) return undefined
  const listeners: unknown = observers.get('update')
  return listeners instanceof Set ? listeners : new Set()
}

/** Calls `listener` with each update of `doc` but those applied by `applyUnheard`; returns what stops it. */
export const onDocUpdate = (doc: Y.Doc, listener: UpdateListener): (() => void) => {
  let entry = listening.get(doc)
  if (!entry) {
    const listeners = new Set<UpdateListener>()
    entry = {
      listeners,
      dispatch: (update, origin, doc, transaction) => {
        for (const each of [...listeners]) each(update, origin, doc, transaction)
      },
      attached: false,
    }
    listening.set(doc, entry)
  }
  const own = entry
  own.listeners.add(listener)
  if (!own.attached) {
    own.attached = true
    doc.on('update', own.dispatch)
  }
  return () => {
    own.listeners.delete(listener)
    if (own.listeners.size === 0 && own.attached) {
      own.attached = false
      doc.off('update', own.dispatch)
    }
  }
}

/** Attaches `dispatch` again, ahead of the listeners added while it was detached. */
const attachFirst = (doc: Y.Doc, dispatch: UpdateListener): void => {
  const others = [...(updateListeners(doc) ?? [])] as UpdateListener[]
  for (const other of others) doc.off('update', other)
  doc.on('update', dispatch)
  for (const other of others) doc.on('update', other)
}

/**
 * Runs `apply`, which applies updates to `doc` in transactions of `origin`,
 * with the client's listener detached if it is the only one: for updates
 * every part of the client ignores (the stored state, applied as
 * `fromStore`). A transaction of any other origin that starts meanwhile (an
 * app's observer that edits the doc as the stored state arrives) attaches it
 * again at once, so that edit is heard.
 */
export const applyUnheard = (doc: Y.Doc, origin: unknown, apply: () => void): void => {
  const entry = listening.get(doc)
  const listeners = updateListeners(doc)
  if (!entry?.attached || listeners?.size !== 1 || !listeners.has(entry.dispatch)) return apply()
  let detached = true
  const reattach = (transaction: Y.Transaction): void => {
    if (!detached || transaction.origin === origin) return
    detached = false
    if (entry.attached) attachFirst(doc, entry.dispatch)
  }
  doc.off('update', entry.dispatch)
  doc.on('beforeTransaction', reattach)
  try {
    apply()
  } finally {
    doc.off('beforeTransaction', reattach)
    if (detached && entry.attached) attachFirst(doc, entry.dispatch)
  }
}
