/**
 * Owns the History panel of the open document: its versions, newest first
 * (time, name, writers), a read-only preview of one, "Save version" with a
 * label, and "Restore", all through the relay's HTTP API
 * (historyRequests.ts). The list is fetched again after a save or a
 * restore, when this tab (re)connects, and once the document has been quiet
 * for a moment after changing (a restore from another window is a change),
 * never per keystroke. History lives on the relay, so without a connection
 * the panel says so and offers nothing.
 */
import type { DocHandle, SyncStatus } from '@concord/client'
import { h } from './element.js'
import { authorsText, previewOf, versionName, type Preview } from './historyPreview.js'
import {
  HistoryRequestError,
  listVersions,
  loadVersion,
  restoreVersion,
  saveVersion,
  type Version,
} from './historyRequests.js'

/** How long the document stays unchanged before the list is fetched again. */
const quietMs = 1_500

const connected = (status: SyncStatus): boolean => status === 'synced' || status === 'syncing'

/** What the user reads when `action` failed with `error`. */
export const problemText = (action: string, error: unknown): string => {
  if (error instanceof HistoryRequestError) {
    if (error.code === 'unreachable') return `Could not ${action}: the relay cannot be reached.`
    return `Could not ${action}: ${error.message} (${error.code}).`
  }
  return `Could not ${action}: ${error instanceof Error ? error.message : String(error)}.`
}

/** Mounts the history of document `doc` (open as `handle`) in `parent`; returns the function that removes it. */
export const mountHistoryPanel = (parent: HTMLElement, doc: string, handle: DocHandle): (() => void) => {
  let versions: Version[] = []
  let busy = false
  let mounted = true
  /** Each fetch of the list has a number; an answer older than the newest shown is dropped. */
  let listRequests = 0
  let shownRequest = 0

  const error = h('p', { class: 'history-error', role: 'alert', 'data-testid': 'history-error', hidden: true })
  const status = h('p', { class: 'history-status', role: 'status', 'data-testid': 'history-status' })
  const labelInput = h('input', {
    placeholder: 'Label, e.g. "first draft"',
    'aria-label': 'Version label',
    required: true,
    maxLength: 256,
    'data-testid': 'version-label',
  }) as HTMLInputElement
  const saveButton = h('button', { type: 'submit' }, 'Save version') as HTMLButtonElement
  const list = h('ol', { class: 'versions', 'aria-label': 'Versions', 'data-testid': 'versions' })
  const previewHeading = h('h3', {})
  const previewBody = h('pre', { class: 'preview-body', 'data-testid': 'preview-body' })
  const previewTodos = h('ul', { class: 'preview-todos', 'aria-label': 'Todos of this version' })
  const preview = h(
    'section',
    { class: 'version-preview', 'data-testid': 'version-preview', hidden: true },
    previewHeading,
    previewBody,
    previewTodos,
  )

  /** Shows what went wrong (or nothing), and whether fetching the list (`list`) or an action did. */
  const showError = (text: string | undefined, from: 'list' | 'action' = 'action'): void => {
    error.textContent = text ?? ''
    error.hidden = text === undefined
    error.dataset.from = from
  }

  /** Runs `task` with the panel's buttons off, showing what went wrong, if anything. */
  const act = async (action: string, task: () => Promise<string>): Promise<void> => {
    if (busy) return
    busy = true
    showError(undefined)
    render()
    try {
      const done = await task()
      if (mounted) status.textContent = done
    } catch (problem) {
      if (mounted) showError(problemText(action, problem))
    } finally {
      busy = false
      if (mounted) render()
    }
  }

  const refresh = async (): Promise<void> => {
    if (!mounted) return
    if (!connected(handle.status)) {
      render()
      return
    }
    const request = ++listRequests
    try {
      const { versions: newest } = await listVersions(doc)
      if (!mounted || request < shownRequest) return
      shownRequest = request
      versions = newest
      if (error.dataset.from === 'list') showError(undefined)
    } catch (problem) {
      if (!mounted || request < shownRequest) return
      showError(problemText('list the versions', problem), 'list')
      return
    }
    render()
  }

  const showPreview = (version: Version, content: Preview): void => {
    const name = versionName(version, versions)
    preview.setAttribute('aria-label', `Preview of ${name}`)
    previewHeading.textContent = `Preview: ${name}`
    previewBody.textContent = content.body === '' ? '(no text)' : content.body
    previewTodos.replaceChildren(
      ...content.todos.map((todo) =>
        'wrongShape' in todo
          ? h('li', { class: 'wrong-shape' }, 'An item of the wrong shape, not shown')
          : h('li', { class: todo.done ? 'done' : undefined }, `${todo.done ? '☑' : '☐'} ${todo.text}`),
      ),
    )
    if (content.todos.length === 0) previewTodos.append(h('li', { class: 'hint' }, 'No todos.'))
    preview.hidden = false
  }

  const versionItem = (version: Version): HTMLElement => {
    const name = versionName(version, versions)
    const when = new Date(version.createdAt)
    const offline = !connected(handle.status)
    return h(
      'li',
      { class: version.label === null ? 'automatic' : undefined, 'data-testid': 'version' },
      h('span', { class: 'version-name' }, name),
      h(
        'span',
        { class: 'version-meta' },
        h('time', { dateTime: when.toISOString(), title: `${version.bytes} bytes` }, when.toLocaleString()),
        ` · ${authorsText(version)}`,
      ),
      h(
        'span',
        { class: 'version-actions' },
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Preview ${name}`,
            disabled: busy || offline,
            onclick: () =>
              void act(`preview ${name}`, async () => {
                showPreview(version, previewOf(await loadVersion(doc, version.id)))
                return `Showing ${name}.`
              }),
          },
          'Preview',
        ),
        h(
          'button',
          {
            type: 'button',
            'aria-label': `Restore ${name}`,
            disabled: busy || offline,
            onclick: () =>
              void act(`restore ${name}`, async () => {
                await restoreVersion(doc, version.id)
                await refresh()
                return `Restored ${name}.`
              }),
          },
          'Restore',
        ),
      ),
    )
  }

  function render(): void {
    const offline = !connected(handle.status)
    saveButton.disabled = busy || offline
    if (offline) status.textContent = 'History needs a connection to the relay.'
    else if (status.textContent === 'History needs a connection to the relay.') status.textContent = ''
    list.replaceChildren(...versions.map(versionItem))
    if (versions.length === 0) list.append(h('li', { class: 'hint' }, 'No versions yet.'))
  }

  const form = h(
    'form',
    {
      class: 'save-version',
      onsubmit: (event) => {
        event.preventDefault()
        const label = labelInput.value.trim()
        if (!label) return
        void act(`save "${label}"`, async () => {
          await saveVersion(doc, label)
          labelInput.value = ''
          await refresh()
          return `Saved "${label}".`
        })
      },
    },
    labelInput,
    saveButton,
  )

  let quiet: ReturnType<typeof setTimeout> | undefined
  const onUpdate = (): void => {
    clearTimeout(quiet)
    quiet = setTimeout(() => void refresh(), quietMs)
  }
  let wasConnected = connected(handle.status)
  const onStatus = (now: SyncStatus): void => {
    const isConnected = connected(now)
    if (isConnected && !wasConnected) void refresh()
    else render()
    wasConnected = isConnected
  }
  handle.doc.on('update', onUpdate)
  handle.on('status', onStatus)

  parent.replaceChildren(h('h2', { id: 'history-heading' }, 'History'), form, error, status, list, preview)
  render()
  void refresh()
  return () => {
    mounted = false
    clearTimeout(quiet)
    handle.doc.off('update', onUpdate)
    handle.off('status', onStatus)
    parent.replaceChildren()
  }
}
