/**
 * Owns the relay's public shape: the options of createRelay and their
 * defaults, the Relay it returns, and its stats. relay.ts builds it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Authenticate } from './auth.js'
import type { DocumentChange } from './changeFeed.js'
import type { DocStore, VersionInfo, VersionQuery } from './docStore.js'
import type { HistoryOptions, RestoreOptions, VersionWithState } from './documentHistory.js'
import type { Fanout } from './fanout.js'
import type { Logger } from './logger.js'
import type { RelayObserver } from './relayObserver.js'
import type { OpenDocumentOptions, ServerDocument } from './serverDocument.js'

export interface RelayOptions {
  /** Where documents are stored. The relay never closes it: close it after `relay.close()`. */
  readonly store: DocStore
  /**
   * Cluster mode: how this relay hears of the updates and presence that other
   * relays serving the same documents receive (a RedisFanout). The store must
   * then be shared by all of them (a PostgresDocStore). The relay never closes
   * it: close it after `relay.close()`. Default: none, the relay serves alone.
   */
  readonly fanout?: Fanout
  /** Pino, or anything with its `debug`/`info`/`warn`/`error`. Default: silent. */
  readonly logger?: Logger
  /** Told about connections, traffic, stored updates, store failures and ack latency, for metrics. Default: none. */
  readonly observer?: RelayObserver
  /** The largest frame accepted; a larger one closes its connection with 1009. Default: 16 MiB. */
  readonly maxPayload?: number
  /** A connection with more unsent bytes than this is not reading and is closed with 4508. Default: 32 MiB. */
  readonly maxBufferedBytes?: number
  /** How often every connection is pinged; one that has not answered the previous ping is dropped. Default: 30 s. */
  readonly heartbeatIntervalMs?: number
  /** How long a document stays loaded after its last connection left. Default: 10 s. */
  readonly unloadAfterMs?: number
  /** Compact a document's stored log after this many stored updates. Default: 200. */
  readonly compactAfterUpdates?: number
  /**
   * Each connection's budget: messages and bytes per second, with bursts.
   * Over it, the relay stops reading from that socket until the budget
   * refills, so the sender is slowed by TCP backpressure. Default: 200
   * messages/s (burst 1,000) and 8 MiB/s (burst: maxPayload).
   */
  readonly rateLimit?: Partial<RateLimit>
  /**
   * Addresses of reverse proxies whose X-Forwarded-For is believed: a
   * connection from one of them counts as the address it names, for the
   * per-address limit and the logs. Default: none (the header is ignored).
   */
  readonly trustedProxies?: readonly string[]
  /**
   * Connections from one IP address beyond this many are refused (HTTP 429). On an attached server a
   * socket counts from the moment it is accepted, before its request is read, so half-sent upgrades
   * count too; with `handleUpgrade` alone, from its upgrade. Default: 256.
   */
  readonly maxConnectionsPerIp?: number
  /**
   * A socket of the attached server that has not sent a whole request head (an upgrade or any other
   * HTTP request) this long after it was accepted is closed. Default: 5 s.
   */
  readonly headersTimeoutMs?: number
  /**
   * The most sockets the attached server holds at once, HTTP and WebSocket (its `maxConnections`);
   * one more is closed as soon as it is accepted. Default: the server's own cap if it has one, else
   * below the process's file-descriptor limit (see `defaultMaxSockets`).
   */
  readonly maxSockets?: number
  /** A native connection may have this many documents open; one more gets an error frame (4429). Default: 256. */
  readonly maxDocumentsPerConnection?: number
  /**
   * Frames waiting for an authorization answer, per connection, and frames waiting for a document to
   * load, per connection and document; one more closes the connection (4429). Default: 256.
   */
  readonly maxWaitingFrames?: number
  /**
   * Bytes of the frames waiting for an authorization answer, per connection; past it the connection is
   * closed (4429). They count against `maxQueuedBytes` too. Default: `maxPayload`, so that one frame of
   * the largest size can always wait.
   */
  readonly maxWaitingBytes?: number
  /**
   * Bytes of the frames that wait for one document to load, from all its connections together; a frame
   * past it closes its connection (4429). Default: 32 MiB.
   */
  readonly maxQueuedBytesPerDocument?: number
  /**
   * The same, for every document of the relay together, with the frames waiting for authorization
   * (see `stats().queuedBytes`). Default: 128 MiB.
   */
  readonly maxQueuedBytes?: number
  /**
   * A store call (load, append, compact) that has not answered within this fails: the document is
   * refused (4503) and its clients retry, nothing they sent since their last ack having been
   * acknowledged. Default: 10 s.
   */
  readonly storeTimeoutMs?: number
  /**
   * When set, a browser's upgrade from any other Origin is refused (HTTP 403).
   * Requests without an Origin header (clients that are not browsers) pass:
   * Origin only protects browsers from pages of other sites.
   */
  readonly allowedOrigins?: readonly string[]
  /** An awareness (presence) state longer than this, in UTF-8 bytes, is dropped. Default: 1 KiB. */
  readonly maxAwarenessStateBytes?: number
  /**
   * When a connection claims the presence of a client id that another
   * connection owns (a client that reconnected while its old socket looks
   * open), the owner is pinged, and dropped if nothing comes back within
   * this; the claim then takes its place. Default: 5 s.
   */
  readonly presenceProbeTimeoutMs?: number
  /** Decides what each connection may do with each document. Default: everyone may write everything. */
  readonly authenticate?: Authenticate
  /**
   * Accept a token as the `token` query parameter in y-websocket mode, where stock
   * clients have no other way to send one (it may end up in proxy logs). Default: true.
   */
  readonly queryTokens?: boolean
  /**
   * A bearer token that the HTTP API accepts with every right on every
   * document, for backends; compared in constant time, never logged.
   * Default: none (the API asks `authenticate`, like a WebSocket).
   */
  readonly apiKey?: string
  /**
   * Initial content (a Yjs update) for a document the store does not have:
   * seed it from an app's database or a template. What it returns is stored
   * durably before anyone is served the document; undefined leaves it empty.
   * One that throws, returns something that is no Yjs update, or takes longer
   * than `hookTimeoutMs` refuses the document (4503; clients retry), and is
   * logged. In cluster mode two relays may seed the same new document at
   * once: return the same update for the same name (a Y.Doc with a fixed
   * `clientID`), so that the two seeds are one.
   */
  readonly loadDocument?: (name: string) => Uint8Array | undefined | Promise<Uint8Array | undefined>
  /**
   * Told of every change once it is durable, batched per document: called
   * once a document has been quiet for `onChangeDebounceMs` (and at the
   * latest after ten times that), with everything stored since as one
   * update, and the writers. One call per document at a time; one that
   * throws or takes longer than `hookTimeoutMs` is logged and the relay
   * carries on.
   */
  readonly onChange?: (change: DocumentChange) => void | Promise<void>
  /** Default: 1 s. */
  readonly onChangeDebounceMs?: number
  /**
   * Told once a document was deleted (its tombstone is durable). One that
   * throws or takes longer than `hookTimeoutMs` is logged; the deletion stands.
   */
  readonly onDelete?: (deletion: { readonly name: string; readonly by: string }) => void | Promise<void>
  /**
   * Version history (see docs/history.md), kept when the store can keep versions (`saveVersion`):
   * automatic versions after an edited document is quiet for `quietMs` (60 s), at most
   * `maxIntervalMs` (10 min) apart while it is edited, and when it unloads with edits no version
   * holds. `false` keeps none (named versions then reject with HistoryUnavailableError). Old
   * automatic versions are thinned in the background by `retention` (see versionThinning.ts).
   */
  readonly history?: HistoryOptions | false
  /**
   * Record webhook events in the store's outbox, each in the transaction of the change that causes it:
   * `document.created` with a document's first update, `document.changed` with each update (a
   * document's waiting changed event gathers its updates until it has been quiet for `debounceMs`,
   * default 1 s, or for at most `maxWaitMs`, default ten times that), `document.deleted` with its
   * tombstone. The store must keep an outbox (claimOutbox, ackOutbox, retryOutbox, outboxStats: the
   * memory, SQLite and PostgreSQL stores do); something else (the service's webhook delivery) sends
   * them. Default: none recorded.
   */
  readonly webhookEvents?: { readonly debounceMs?: number; readonly maxWaitMs?: number }
  /** How long a hook may take. Default: 10 s. */
  readonly hookTimeoutMs?: number
  /**
   * In y-websocket mode, send each update a connection sends back to it once
   * it is durable, never before: stock providers with a sync status
   * (y-websocket 3.1 release candidates, @y/websocket 4) show an edit as saved
   * when its content comes back. Never for a dropped or refused update; native
   * connections get acks instead. Default: true.
   */
  readonly echoCommitted?: boolean
}

export interface RateLimit {
  readonly messagesPerSecond: number
  readonly messageBurst: number
  readonly bytesPerSecond: number
  /** Default: maxPayload, so that one frame of the largest size can always pass. */
  readonly byteBurst: number
}

export interface RelayStats {
  readonly connections: number
  readonly documents: number
  /**
   * Bytes held in frames that wait for their document to load or for their connection's authorization,
   * in every document and connection (capped by `maxQueuedBytes`).
   */
  readonly queuedBytes: number
}

export interface Relay {
  /** Serves WebSocket upgrades on `server`: every upgrade request is the relay's. */
  attach(server: Server): void
  /** Serves one upgrade request, for servers that route upgrades themselves. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void
  /**
   * Serves the document HTTP API (paths under /v1, see docs/http-api.md);
   * returns false, touching nothing, for any other path.
   */
  handleHttp(request: IncomingMessage, response: ServerResponse): boolean
  /**
   * A server-side handle on a live document: resolves once its `doc` holds
   * the stored state. Its transactions are admitted, stored and forwarded
   * like a client's. Rejects with a ProtocolError for an invalid name, or a
   * DocumentUnavailableError when the store cannot load the document.
   */
  openDocument(name: string, options?: OpenDocumentOptions): Promise<ServerDocument>
  /**
   * Deletes a document for good: its content is removed from the store and a
   * tombstone kept, every connection to it is told (4404), and its name is
   * never served again, so edits that offline clients still hold cannot
   * bring it back. Resolves once the tombstone is durable. In cluster mode
   * the fan-out tells the other relays, which tell their connections at once
   * (or, if that news is lost, at their next load, append or resync of it). Rejects
   * when the store has no `remove`.
   */
  deleteDocument(name: string, options?: { readonly by?: string }): Promise<void>
  /**
   * Takes a named version of the document as it is now (every update stored so far). Rejects with
   * a ProtocolError for an invalid name or label (1 to 256 characters), a HistoryUnavailableError
   * when this relay keeps no history.
   */
  saveVersion(name: string, options: { readonly label: string }): Promise<VersionInfo>
  /** The document's versions, newest first: `limit` (default 50) of those stored before `before`. */
  listVersions(name: string, query?: Partial<VersionQuery>): Promise<VersionInfo[]>
  /** One version with its state (a Yjs update); rejects with VersionNotFoundError for an id the document lacks. */
  loadVersion(name: string, id: string): Promise<VersionWithState>
  /**
   * Restores version `id`: one forward edit that makes every top-level type's content the
   * version's, stored and forwarded like any client's (offline clients merge it when they come
   * back), then a version labelled "restored from <id>", which it resolves with. Rejects, changing
   * nothing, with VersionNotFoundError, or a RootTypeError for a root whose type must be named.
   */
  restoreVersion(name: string, id: string, options?: RestoreOptions): Promise<VersionInfo>
  stats(): RelayStats
  /**
   * Refuses new connections, closes every connection with 1001, and resolves
   * once every accepted update is durable and every socket is closed. Idempotent.
   */
  close(): Promise<void>
}

export const relayDefaults = {
  maxPayload: 16 * 1024 * 1024,
  maxBufferedBytes: 32 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  unloadAfterMs: 10_000,
  compactAfterUpdates: 200,
  queryTokens: true,
  echoCommitted: true,
  maxAwarenessStateBytes: 1024,
  presenceProbeTimeoutMs: 5_000,
  onChangeDebounceMs: 1_000,
  hookTimeoutMs: 10_000,
  maxConnectionsPerIp: 256,
  headersTimeoutMs: 5_000,
  trustedProxies: [],
  maxDocumentsPerConnection: 256,
  maxWaitingFrames: 256,
  maxQueuedBytesPerDocument: 32 * 1024 * 1024,
  maxQueuedBytes: 128 * 1024 * 1024,
  storeTimeoutMs: 10_000,
  rateLimit: { messagesPerSecond: 200, messageBurst: 1000, bytesPerSecond: 8 * 1024 * 1024 },
} as const
