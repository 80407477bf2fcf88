/**
 * Owns a webhook event's clocks as a Yjs state vector. Apart from webhookOutbox.ts, which the
 * SQLite store's worker thread loads too: importing Yjs there added about 3.5 MiB to that thread
 * (its code and source), for a function only the main thread calls.
 */
import * as Y from 'yjs'
import type { StateVectorClocks } from './webhookOutbox.js'

/** `clocks` as a Yjs state vector (what Y.encodeStateVector gives for a document with those clocks). */
export const encodeStateVectorClocks = (clocks: StateVectorClocks): Uint8Array =>
  Y.encodeStateVector(new Map(Object.entries(clocks).map(([client, clock]) => [Number(client), clock])))
