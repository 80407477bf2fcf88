/**
 * Owns `useSyncStatus(handle)`: what a status bar shows about one document
 * (its sync status, how many edits the relay has not yet stored, and whether
 * this device is storing them), as one snapshot object that changes only
 * when one of those does; and `useUnsavedChangesWarning`, the opt-in
 * `beforeunload` warning built on it.
 */
import type { DocHandle, SyncStatus } from '@concord/client'
import { useEffect, useSyncExternalStore } from 'react'

/**
 * Whether this device holds every edit of the document: `ok`; `failing`
 * once the device store failed to store one ("not saved on this device":
 * the edits live in memory, and go to the relay); `unavailable` where the
 * browser gives no storage at all. The same values as the client's own
 * `StorageState` (issue 13).
 */
export type DeviceStorageState = 'ok' | 'failing' | 'unavailable'

export interface SyncStatusSnapshot {
  /** `offline`, `connecting`, `syncing` or `synced`: see @concord/client. */
  readonly status: SyncStatus
  /** Local edits the relay has not yet acknowledged as durable. */
  readonly pending: number
  readonly deviceStorage: DeviceStorageState
}

/**
 * The handle events after which the snapshot may differ. `storage` is the
 * event of clients whose handle reports its device-storage state (issue 13);
 * a client without it never emits it.
 */
const handleEvents = ['status', 'pending', 'error', 'storage'] as const

/** The handle's events by name, `storage` included, which this client's typings may not list yet. */
interface HandleEventTarget {
  on(name: (typeof handleEvents)[number], listener: () => void): void
  off(name: (typeof handleEvents)[number], listener: () => void): void
}

/** The device-storage state of a handle: whether its edits are stored on this device. */
const readDeviceStorage = (handle: DocHandle): DeviceStorageState => handle.storage

interface SyncStatusStore {
  readonly subscribe: (onChange: () => void) => () => void
  readonly getSnapshot: () => SyncStatusSnapshot
}

const stores = new WeakMap<DocHandle, SyncStatusStore>()

const storeOf = (handle: DocHandle): SyncStatusStore => {
  const existing = stores.get(handle)
  if (existing) return existing
  let snapshot: SyncStatusSnapshot = {
    status: handle.status,
    pending: handle.pending,
    deviceStorage: readDeviceStorage(handle),
  }
  const store: SyncStatusStore = {
    subscribe(onChange) {
      const events = handle as unknown as HandleEventTarget
      for (const event of handleEvents) events.on(event, onChange)
      return () => {
        for (const event of handleEvents) events.off(event, onChange)
      }
    },
    getSnapshot() {
      const { status, pending } = handle
      const deviceStorage = readDeviceStorage(handle)
      if (status !== snapshot.status || pending !== snapshot.pending || deviceStorage !== snapshot.deviceStorage) {
        snapshot = { status, pending, deviceStorage }
      }
      return snapshot
    },
  }
  stores.set(handle, store)
  return store
}

/**
 * The sync status of `handle`: re-renders when its status, pending count or
 * device-storage state changes, and only then.
 */
export const useSyncStatus = (handle: DocHandle): SyncStatusSnapshot => {
  const store = storeOf(handle)
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot)
}

/**
 * Whether leaving now could lose or strand edits: some are not yet durable
 * on the relay, or this device failed to store them.
 */
export const hasUnsavedChanges = ({ pending, deviceStorage }: SyncStatusSnapshot): boolean =>
  pending > 0 || deviceStorage !== 'ok'

/**
 * While `enabled` (default true) and `handle` has unsaved changes (see
 * `hasUnsavedChanges`), asks the browser to confirm before the page is
 * closed or reloaded. Opt-in: mount it where losing the relay's copy matters.
 */
export const useUnsavedChangesWarning = (handle: DocHandle, enabled = true): void => {
  const snapshot = useSyncStatus(handle)
  const warn = enabled && hasUnsavedChanges(snapshot)
  useEffect(() => {
    if (!warn) return
    const onBeforeUnload = (event: BeforeUnloadEvent): void => {
      event.preventDefault()
      // Older browsers show the dialog only when returnValue is set.
      event.returnValue = ''
    }
    globalThis.addEventListener('beforeunload', onBeforeUnload)
    return () => globalThis.removeEventListener('beforeunload', onBeforeUnload)
  }, [warn])
}
