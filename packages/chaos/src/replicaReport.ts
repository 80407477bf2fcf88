/**
 * Owns how a replica describes one of its documents to the harness: the
 * state vector always, the content and elements only when asked (they cost
 * a full read of the document).
 */
import type * as Y from 'yjs'
import type { DocumentReport } from './replicaMessages.js'
import { contentOf, elementsOf, stateVectorOf } from './workload.js'

export const reportDocument = (doc: Y.Doc, content: boolean, pending: number, status: string): DocumentReport => ({
  clientId: doc.clientID,
  stateVector: stateVectorOf(doc),
  content: content ? contentOf(doc) : '',
  elements: content ? elementsOf(doc).toArray() : [],
  pending,
  status,
})
