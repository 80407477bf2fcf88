/**
 * The demo's entry: one client for the page (its relay is the server that
 * served the page), the shared list of documents, the document named in the
 * address (`#/<id>`) with its editor, todo list and history, and the status bar.
 */
import { createClient, type DocHandle } from '@concord/client'
import { DocumentList, documentListId } from './documentList.js'
import { mountEditor } from './editor.js'
import { h } from './element.js'
import { mountHistoryPanel } from './historyPanel.js'
import { neverThrowing } from './observed.js'
import { OfflineSwitch } from './offlineSwitch.js'
import { presentUser } from './presence.js'
import { mountStatusBar } from './statusBar.js'
import { mountTodoList } from './todoList.js'
import { loadUser, renamed, saveUser, type User } from './user.js'

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`index.html has no #${id}`)
  return element as T
}

const offlineSwitch = new OfflineSwitch()
const client = createClient({
  url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`,
  name: 'concord-demo',
  connection: { environment: offlineSwitch },
})
client.on('error', (error) => console.error(`Concord: ${error.code}: ${error.message}`))

if ('serviceWorker' in navigator) {
  // The service worker keeps the app's files, so a reload works without the relay.
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.error('the app will not load offline:', error)
  })
}

interface OpenDocument {
  readonly id: string
  readonly handle: DocHandle
  readonly close: () => void
}
/** The document on screen, if any. */
let open: OpenDocument | undefined

const listHandle = client.open(documentListId)
/** Made again when the list's handle forks to a new doc (`replaced`, see below). */
let documents = new DocumentList(listHandle.doc)
const statusBar = mountStatusBar(byId('status-bar'), client, offlineSwitch)

let user: User = loadUser()
const nameInput = byId<HTMLInputElement>('user-name')
nameInput.value = user.name
nameInput.addEventListener('change', () => {
  user = saveUser(renamed(user, nameInput.value))
  nameInput.value = user.name
  open?.handle.awareness.setLocalStateField('user', user)
})

const documentList = byId('document-list')
const emptyState = byId('empty-state')
const documentView = byId('document-view')
const titleInput = byId<HTMLInputElement>('document-title')
const presence = byId('presence')
const exportLink = byId<HTMLAnchorElement>('export')

/** The document as the relay stores it, as JSON, from its HTTP API (docs/http-api.md). */
const exportUrl = (id: string): string =>
  `/v1/docs/${encodeURIComponent(id)}?format=json&types=${encodeURIComponent('body:text,todos:array')}`

const renderList = (): void => {
  const { entries, skipped } = documents.all()
  documentList.replaceChildren(
    ...entries.map(({ id, title }) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: `#/${encodeURIComponent(id)}`, 'aria-current': id === open?.id ? 'page' : undefined },
          title || 'Untitled',
        ),
      ),
    ),
  )
  if (skipped.length > 0) {
    documentList.append(
      h(
        'li',
        {
          class: 'wrong-shape',
          'data-testid': 'documents-skipped',
          title: skipped.map(({ id, problem }) => `${id}: ${problem}`).join('\n'),
        },
        `${skipped.length} ${skipped.length === 1 ? 'entry' : 'entries'} of the wrong shape, not shown`,
      ),
    )
  }
  if (entries.length === 0) documentList.append(h('li', { class: 'hint' }, 'No documents yet.'))
}

const renderTitle = (): void => {
  // Never overwrite what the user is typing.
  if (open && document.activeElement !== titleInput) titleInput.value = documents.title(open.id) ?? 'Untitled'
}

const renderPresence = (handle: DocHandle): void => {
  const names = [...handle.awareness.getStates()].flatMap(([clientId, state]) => {
    const present = presentUser(state.user)
    return present ? [`${present.name}${clientId === handle.awareness.clientID ? ' (you)' : ''}`] : []
  })
  presence.textContent = names.length > 0 ? `Here: ${names.join(', ')}` : ''
}

const openDocument = (id: string | undefined): void => {
  open?.close()
  open = undefined
  emptyState.hidden = id !== undefined
  documentView.hidden = id === undefined
  if (id === undefined) {
    statusBar.show(listHandle)
    renderList()
    return
  }
  let handle: DocHandle
  try {
    handle = client.open(id)
  } catch (error) {
    console.error(error)
    location.hash = ''
    return
  }
  handle.awareness.setLocalStateField('user', user)
  exportLink.href = exportUrl(id)
  exportLink.download = `${id.replace(/[^\w.-]+/g, '_')}.json`
  // Everything bound to the handle's doc and awareness, which a fork replaces (a clock squat, see
  // the client's README): bound again to the new ones on `replaced`.
  const mountViews = (): (() => void) => {
    const unmountEditor = mountEditor(byId('editor'), byId('editor-notice'), handle)
    const unmountTodos = mountTodoList(byId('todos'), handle.doc)
    const unmountHistory = mountHistoryPanel(byId('history'), id, handle)
    const { awareness } = handle
    const onPresence = neverThrowing('who is here', () => renderPresence(handle))
    awareness.on('change', onPresence)
    return () => {
      awareness.off('change', onPresence)
      unmountEditor()
      unmountTodos()
      unmountHistory()
    }
  }
  let unmountViews = mountViews()
  const onReplaced = (): void => {
    unmountViews()
    unmountViews = mountViews()
    renderPresence(handle)
  }
  handle.on('replaced', onReplaced)
  open = {
    id,
    handle,
    close: () => {
      handle.off('replaced', onReplaced)
      unmountViews()
      // Its writes finish on their own; the next handle of this document waits for them.
      void handle.close()
    },
  }
  statusBar.show(handle)
  renderTitle()
  renderPresence(handle)
  renderList()
}

const idInAddress = (): string | undefined => {
  const match = /^#\/(.+)$/.exec(location.hash)
  if (!match?.[1]) return undefined
  try {
    return decodeURIComponent(match[1])
  } catch {
    return undefined
  }
}

const onListChange = neverThrowing('the list of documents', () => {
  renderList()
  renderTitle()
})
let stopObservingList = documents.observe(onListChange)
listHandle.on('replaced', (doc) => {
  stopObservingList()
  documents = new DocumentList(doc)
  stopObservingList = documents.observe(onListChange)
  onListChange()
})
titleInput.addEventListener('input', () => {
  if (open) documents.rename(open.id, titleInput.value)
})
titleInput.addEventListener('blur', renderTitle)
byId('new-document').addEventListener('click', () => {
  location.hash = `#/${encodeURIComponent(documents.create('Untitled'))}`
  titleInput.focus()
  titleInput.select()
})
window.addEventListener('hashchange', () => openDocument(idInAddress()))
openDocument(idInAddress())
