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

/** One transaction of the trace: its patches, each [position, deleted, inserted], applied in order. */
export type TracePatches = ReadonlyArray<readonly [number, number, string]>

const readTraceFile = (file: string): TraceFile => JSON.parse(gunzipSync(readFileSync(file)).toString()) as TraceFile

/** The patches of the first `limit` transactions, for a page that makes the edits itself. */
export const tracePatches = (file: string, limit = Infinity): TracePatches[] =>
  readTraceFile(file)
    .txns.slice(0, limit)
    .map(({ patches }) => patches)

/** Replays the first `limit` transactions of the trace (all of them when it is larger). */
export const replayTrace = (file: string, limit = Infinity): ReplayedTrace => {
  const { updates, text, totalTxns } = replay(file, limit, true)
  return { updates: updates!, text, totalTxns }
}

/** The document after the first `limit` transactions as one update (`Y.encodeStateAsUpdate`), and its text. */
export const traceState = (file: string, limit = Infinity): { readonly state: Uint8Array; readonly text: string } => {
  const { state, text } = replay(file, limit, false)
  return { state, text }
}

const replay = (file: string, limit: number, collect: boolean) => {
  // Only what replayTrace returns needs every update: the large document's 259,778 stay uncollected otherwise.
  const trace = readTraceFile(file)
  const doc = new Y.Doc()
  const text = doc.getText('t')
  const updates: Uint8Array[] | undefined = collect ? [] : undefined
  if (updates) doc.on('update', (update: Uint8Array) => updates.push(update))
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
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  return { updates, state, text: result, totalTxns: trace.txns.length }
}
