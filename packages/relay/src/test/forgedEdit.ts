/**
 * Owns the edit a hostile test writer forges: made on a copy of a document's state under another
 * client's id, so that it takes that client's next clocks (a clock squat).
 */
import * as Y from 'yjs'

/** The update of `edit`, made on a copy of `state` by the client `clientId`. */
export const editAs = (state: Uint8Array, clientId: number, edit: (doc: Y.Doc) => void): Uint8Array => {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, state)
  // Set after the state: a Y.Doc that receives its own client's structs picks a new client id.
  doc.clientID = clientId
  let update: Uint8Array | undefined
  doc.on('update', (made: Uint8Array) => (update = made))
  doc.transact(() => edit(doc))
  doc.destroy()
  if (!update) throw new Error('the edit changed nothing')
  return update
}
