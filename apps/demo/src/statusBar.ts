/**
 * Owns the status bar: whether this tab reaches the relay, whether the open
 * document is synced, how many of its edits the relay has not yet stored,
 * whether this device could store them, whether the document forked (a
 * clock squat, see the client's README), and the switch that takes this tab
 * offline.
 */
import type {
  ConcordClient,
  ConcordError,
  ConnectionStatus,
  DocHandle,
  StorageState,
  SyncStatus,
} from '@concord/client'
import { h } from './element.js'
import type { OfflineSwitch } from './offlineSwitch.js'

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

const storageText: Record<StorageState, string> = {
  ok: '',
  failing: 'Changes not saved on this device',
  unavailable: 'This browser does not let the app store anything: changes live on the relay only',
}

export interface StatusBar {
  /** Shows the status of `handle` from now on. */
  show(handle: DocHandle): void
}

export const mountStatusBar = (parent: HTMLElement, client: ConcordClient, offlineSwitch: OfflineSwitch): StatusBar => {
  const connection = h('span', { class: 'connection', 'data-testid': 'connection' })
  const sync = h('span', { class: 'sync', 'data-testid': 'sync-status' })
  const pendingCount = h('span', { 'data-testid': 'pending' })
  const pendingEdits = document.createTextNode('')
  const pending = h(
    'span',
    { class: 'pending', title: 'Edits stored on this device that the relay has not yet stored' },
    pendingCount,
    pendingEdits,
  )
  const storage = h('span', { class: 'storage', 'data-testid': 'storage', role: 'status' })
  const forked = h('span', { class: 'forked', 'data-testid': 'forked', role: 'status', hidden: true })
  const toggle = h('input', {
    type: 'checkbox',
    checked: offlineSwitch.workOffline,
    'data-testid': 'offline-switch',
    onchange: () => (offlineSwitch.workOffline = toggle.checked),
  }) as HTMLInputElement
  parent.replaceChildren(
    connection,
    sync,
    pending,
    storage,
    forked,
    h(
      'label',
      { class: 'switch', title: 'Cut this tab off from the relay; your edits stay here' },
      toggle,
      'Work offline',
    ),
  )

  const showConnection = (status: ConnectionStatus): void => {
    connection.textContent = connectionText[status]
    connection.dataset.status = status
  }
  showConnection(client.status)
  client.on('status', showConnection)

  let current: DocHandle | undefined
  const showSync = (status: SyncStatus): void => {
    sync.textContent = syncText[status]
    sync.dataset.status = status
  }
  const showPending = (count: number): void => {
    pendingCount.textContent = String(count)
    pendingEdits.textContent = count === 1 ? ' pending edit' : ' pending edits'
    pending.dataset.count = String(count)
  }
  const showStorage = (state: StorageState): void => {
    storage.textContent = storageText[state]
    storage.dataset.state = state
    storage.hidden = state === 'ok'
  }
  // Shown until another document is shown: the user should learn that someone else wrote under this
  // device's ids, even when it was over before they looked.
  const showForked = (error: ConcordError): void => {
    if (error.code !== 'clocksTaken') return
    forked.textContent = 'Another writer took the ids of edits made here: yours were kept and merged'
    forked.hidden = false
  }
  return {
    show(handle) {
      current?.off('status', showSync)
      current?.off('pending', showPending)
      current?.off('storage', showStorage)
      current?.off('error', showForked)
      current = handle
      handle.on('status', showSync)
      handle.on('pending', showPending)
      handle.on('storage', showStorage)
      handle.on('error', showForked)
      showSync(handle.status)
      showPending(handle.pending)
      showStorage(handle.storage)
      forked.hidden = true
      forked.textContent = ''
    },
  }
}
