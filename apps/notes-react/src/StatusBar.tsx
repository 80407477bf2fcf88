/**
 * Owns the status bar: whether this tab reaches the relay, whether the open
 * note is synced, how many of its edits the relay has not stored yet, a
 * warning when this device could not store them, and a notice when the note
 * forked (a clock squat, see the client's README).
 */
import type { ConcordClient, ConcordError, ConnectionStatus, DocHandle, SyncStatus } from '@concord/client'
import { useConcordClient, useSyncStatus } from '@concord/react'
import { useCallback, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react'

const connectionText: Record<ConnectionStatus, string> = {
  open: 'Online',
  connecting: 'Connecting…',
  offline: 'Offline',
}

const syncText: Record<SyncStatus, string> = {
  synced: 'Synced',
  syncing: 'Syncing…',
  connecting: 'Not synced',
  offline: 'Not synced',
}

/** The client's connection to the relay, re-rendering when it changes. */
const useConnectionStatus = (client: ConcordClient): ConnectionStatus => {
  const subscribe = useCallback(
    (onChange: () => void) => {
      client.on('status', onChange)
      return () => client.off('status', onChange)
    },
    [client],
  )
  return useSyncExternalStore(subscribe, () => client.status)
}

/** Whether another writer took the clocks of this device's edits, which the handle then forked (its `clocksTaken` error). */
const useForked = (handle: DocHandle): boolean => {
  const [forked, setForked] = useState(false)
  useEffect(() => {
    setForked(false)
    const onError = (error: ConcordError): void => {
      if (error.code === 'clocksTaken') setForked(true)
    }
    handle.on('error', onError)
    return () => handle.off('error', onError)
  }, [handle])
  return forked
}

export const StatusBar = ({ handle }: { readonly handle: DocHandle }): ReactNode => {
  const connection = useConnectionStatus(useConcordClient())
  const { status, pending, deviceStorage } = useSyncStatus(handle)
  const forked = useForked(handle)
  return (
    <footer className="status-bar" aria-live="polite">
      <span className="connection" data-testid="connection" data-status={connection}>
        {connectionText[connection]}
      </span>
      <span className="sync" data-testid="sync-status" data-status={status}>
        {syncText[status]}
      </span>
      <span className="pending" title="Edits stored on this device that the relay has not yet stored">
        <span data-testid="pending">{pending}</span> {pending === 1 ? 'pending edit' : 'pending edits'}
      </span>
      {deviceStorage !== 'ok' && (
        <span
          className="device-storage"
          data-testid="device-storage"
          role="alert"
          title={
            deviceStorage === 'unavailable'
              ? 'This browser gives the app no storage: your edits live in this tab and on the relay'
              : 'This browser could not store your latest edits: they are kept in this tab, retried, and sent to the relay'
          }
        >
          Not saved on this device
        </span>
      )}
      {forked && (
        <span className="forked" data-testid="forked" role="status">
          Another writer took the ids of edits made here: yours were kept and merged
        </span>
      )}
    </footer>
  )
}
