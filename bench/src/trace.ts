/**
 * Owns the real editing traces in testdata/traces: reads one, replays a prefix
 * of its transactions into a Y.Doc (text 't'), and returns the Yjs update
 * each transaction made, as an editor would have sent them.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'

export const defaultTrace = fileURLToPath(new URL('../../testdata/traces/automerge-paper.json.gz', import.meta.url))

interface TraceFile {
  readonly endContent: string
  readonly txns: ReadonlyArray<{ readonly patches: ReadonlyArray<readonly [number, number, string]> }>
}

export interface ReplayedTrace {
  readonly updates: Uint8Array[]
  /** The text after the replayed transactions. */
  readonly text: string
  readonly totalTxns: number
}

/** Replays the first `limit` transactions of the trace (all of them when it is larger). */
export const replayTrace = (file: string, limit = Infinity): ReplayedTrace => {
  const trace = JSON.parse(gunzipSync(readFileSync(file)).toString()) as TraceFile
  const doc = new Y.Doc()
  const text = doc.getText('t')
  const updates: Uint8Array[] = []
  doc.on('update', (update: Uint8Array) => updates.push(update))
  const txns = trace.txns.slice(0, limit)
  for (const { patches } of txns) {
    doc.transact(() => {
      for (const [position, deleted, inserted] of patches) {
        if (deleted > 0) text.delete(position, deleted)
        if (inserted.length > 0) text.insert(position, inserted)
      }
    })
  }
  const result = text.toString()
  if (txns.length === trace.txns.length && result !== trace.endContent) {
    throw new Error(`replaying ${file} did not give its endContent`)
  }
  doc.destroy()
  return { updates, text: result, totalTxns: trace.txns.length }
}
