/**
 * Owns what the harness and a replica process say to each other over the
 * IPC channel of `fork`.
 */
import type { Write } from './workload.js'

export type ToReplica =
  | { readonly type: 'write'; readonly write: Write }
  /** Without `content`, only the cheap part: state vector, pending and status. */
  | { readonly type: 'report'; readonly content: boolean }
  /** Close the client cleanly (everything it was storing stored), then exit. */
  | { readonly type: 'stop' }

export interface ReplicaReport {
  readonly stateVector: string
  /** Empty unless asked for. */
  readonly content: string
  readonly elements: readonly string[]
  readonly pending: number
  readonly status: string
}

export type FromReplica =
  | { readonly type: 'ready' }
  /** The write that holds `element` is committed to the replica's store, as row `id`. */
  | { readonly type: 'committed'; readonly element: string; readonly id: number }
  /** The client marked these rows acknowledged: the relay said they are durable. */
  | { readonly type: 'acknowledged'; readonly ids: readonly number[] }
  /** The client merged the pending rows `ids` into row `into`: acknowledging `into` acknowledges them all. */
  | { readonly type: 'merged'; readonly ids: readonly number[]; readonly into: number }
  | ({ readonly type: 'report' } & ReplicaReport)
