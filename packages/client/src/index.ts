export { createClient, ConcordClient, type ClientEvents, type ClientOptions, type PageEvents } from './client.js'
export { warnBeforeUnload, type BeforeUnloadEventLike, type BeforeUnloadTarget } from './beforeUnload.js'
export { DocHandle, type DocHandleEvents, type StorageState } from './docHandle.js'
export type { SyncStatus, ConnectionStatus } from './syncStatus.js'
export type { VersionInfo } from './versionRequests.js'
export type { VersionRootKind } from '@concord/protocol/core'
export {
  ConcordError,
  ConnectionError,
  StoreClosedError,
  type ConcordErrorCode,
  type ConcordErrorOptions,
  type ConnectionErrorCode,
} from './errors.js'
export type { LocalStore, StoredDocument, StoredUpdate } from './localStore.js'
export { IndexedDbLocalStore, type IndexedDbLocalStoreOptions } from './indexedDbLocalStore.js'
export { MemoryLocalStore } from './memoryLocalStore.js'
export {
  heartbeatTimeoutCloseCode,
  type NetworkEnvironment,
  type RelayConnectionOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './relayConnection.js'
export type { BackoffOptions } from './backoff.js'
