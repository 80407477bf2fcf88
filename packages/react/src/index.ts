export {
  ConcordProvider,
  useConcordClient,
  useConcordContext,
  type ConcordContextValue,
  type ConcordProviderProps,
} from './concordProvider.js'
export { DocumentRegistry, type DocumentRegistryOptions } from './documentRegistry.js'
export { useCurrentAwareness, useCurrentDoc } from './currentDoc.js'
export { useDocument } from './useDocument.js'
export {
  hasUnsavedChanges,
  useSyncStatus,
  useUnsavedChangesWarning,
  type DeviceStorageState,
  type SyncStatusSnapshot,
} from './useSyncStatus.js'
export { usePresence, type Peer, type Presence, type PresenceOptions } from './usePresence.js'
export { useY, useYArray, useYMap, useYText } from './useY.js'
