/**
 * Owns what the harness and a replica process say to each other over the
 * IPC channel of `fork`, and how a replica process is configured.
 */
import type { LocalStoreFault } from './storageFaults.js'
import type { Write } from './workload.js'

/** What the app does to its client or handles, besides writing (`--lifecycles`). */
export type Lifecycle =
  /** `handle.close()` then `client.open()` of the same document at once (React StrictMode). */
  | 'reopen'
  /** Every handle closed, then `client.destroy()`, then a new client on the same store. */
  | 'closeThenDestroy'
  /** `client.destroy()` with the handles open, then a new client on the same store. */
  | 'destroyThenRecreate'

export interface ReplicaConfig {
  /**
   * `native`: @concord/client over SQLite; `stock`: y-websocket's WebsocketProvider, in memory,
   * no acks; `tabs`: two native clients as two tabs of one browser (worker threads), sharing one
   * store and its name, one of which the harness kills now and then.
   */
  readonly kind: 'native' | 'stock' | 'tabs'
  readonly storePath: string
  readonly url: string
  readonly documents: readonly string[]
  /** A JWT for the relay, when it requires one. */
  readonly token?: string | undefined
  /** Sabotage: the device store drops some appends while saying they are stored. */
  readonly dropAppends?: boolean
  /** Sabotage: the replica says `whenSynced()` resolved for each write as soon as it is made. */
  readonly syncsEarly?: boolean
  /** Sabotage: the replica keeps its client's error events to itself. */
  readonly hidesErrors?: boolean
  /** `tabs`: two tabs (worker threads) sharing one store and this store name over a BroadcastChannel. */
  readonly tabName?: string | undefined
}

export type ToReplica =
  | { readonly type: 'write'; readonly doc: string; readonly write: Write }
  /** Without `content`, only the cheap part: state vector, pending and status. */
  | { readonly type: 'report'; readonly content: boolean }
  /** Applies `write`, then runs the lifecycle in the same turn. */
  | { readonly type: 'lifecycle'; readonly lifecycle: Lifecycle; readonly doc: string; readonly write: Write }
  /** Arm a fault of the device store (`--storage`). */
  | { readonly type: 'storeFault'; readonly fault: LocalStoreFault }
  /** Tab pairs: kill tab `tab` at once (as the OS kills a tab), and open it again soon after. */
  | { readonly type: 'killTab'; readonly tab: number }
  /** Close the client cleanly (everything it was storing stored), then exit. */
  | { readonly type: 'stop' }

export interface DocumentReport {
  /** The Y.Doc's client id: what a clock squatter aims at. */
  readonly clientId: number
  readonly stateVector: string
  /** Empty unless asked for. */
  readonly content: string
  readonly elements: readonly string[]
  readonly pending: number
  readonly status: string
}

export interface ReplicaReport {
  readonly documents: Readonly<Record<string, DocumentReport>>
}

export type FromReplica =
  | { readonly type: 'ready' }
  /** The store row `id` of `doc` holds these elements, committed. */
  | { readonly type: 'committed'; readonly doc: string; readonly elements: readonly string[]; readonly id: number }
  /** The client marked these rows acknowledged: the relay said they are durable. */
  | { readonly type: 'acknowledged'; readonly doc: string; readonly ids: readonly number[] }
  /** The client merged the pending rows `ids` into row `into`: acknowledging `into` acknowledges them all. */
  | { readonly type: 'merged'; readonly doc: string; readonly ids: readonly number[]; readonly into: number }
  /** `whenSynced()`, called after this process (or tab) wrote `elements` to `doc`, resolved. */
  | { readonly type: 'synced'; readonly doc: string; readonly elements: readonly string[] }
  /** The client told the app of an error (its `error` event). */
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly doc: string | undefined }
  /** The relay closed the replica's socket with this code (as seen by its WebSocket). */
  | { readonly type: 'closedByRelay'; readonly code: number; readonly reason: string }
  | ({ readonly type: 'report' } & ReplicaReport)
  /** A tab of a pair closed its client after a `stop`. */
  | { readonly type: 'stopped' }
