/**
 * The entry point `@concord/relay`: the relay, its hooks and the interfaces of
 * its adapters, with the memory store. It loads no database driver: the
 * SQLite and PostgreSQL stores and the Redis fan-out are the entry points
 * `@concord/relay/sqlite`, `/postgres` and `/redis`, and test kits are
 * `@concord/relay/testing`.
 */
export { createRelay } from './relay.js'
export { relayDefaults, type RateLimit, type Relay, type RelayOptions, type RelayStats } from './relayOptions.js'
export type { OpenDocumentOptions, ServerDocument } from './serverDocument.js'
export type { DocumentChange } from './changeFeed.js'
export { servedState } from './servedState.js'
export { HookTimeoutError } from './hookCall.js'
export { DocumentUnavailableError } from './directPeer.js'
export { allowEveryone, type Access, type Authenticate, type AuthResult } from './auth.js'
export type {
  DocStore,
  LogRow,
  NewVersion,
  QuarantinedUpdate,
  StoredRow,
  VersionInfo,
  VersionQuery,
} from './docStore.js'
export { historyDefaults, type HistoryOptions, type RestoreOptions, type VersionWithState } from './documentHistory.js'
export type { RootKind } from './restoreContent.js'
export type { VersionClock } from './versionPolicy.js'
export {
  checkRetentionTiers,
  defaultRetentionTiers,
  RetentionTiersError,
  versionsToDrop,
  type RetainedVersion,
  type RetentionTier,
} from './versionRetention.js'
export { retentionDefaults, type RetentionOptions } from './versionThinning.js'
export { encodeStateVectorClocks } from './stateVectorClocks.js'
export {
  outboxOf,
  type ClaimedOutboxEvent,
  type DocStoreOutbox,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxStats,
  type StateVectorClocks,
  type WebhookEventType,
} from './webhookOutbox.js'
export { MemoryDocStore } from './memoryDocStore.js'
export type { Fanout, FanoutLink, FanoutMember } from './fanout.js'
export {
  FanoutUnavailableError,
  HistoryUnavailableError,
  RootTypeError,
  StoreClosedError,
  StoreTimeoutError,
  StoreWorkerExitedError,
  VersionNotFoundError,
  VersionStateError,
} from './errors.js'
export { type ClosedBy, type RelayObserver, type StoreOperation } from './relayObserver.js'
export type { WireMode } from './wireMode.js'
export { silentLogger, type Logger } from './logger.js'
export { defaultMaxSockets } from './socketGate.js'
