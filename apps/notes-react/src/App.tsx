/**
 * Owns the page: who you are, the sidebar of notes, and the note named in
 * the address (`#/<id>`), or a hint when none is.
 */
import { useDocument } from '@concord/react'
import { useEffect, useState, useSyncExternalStore, type ReactNode } from 'react'
import { indexDocumentId, isNoteId } from './documentIndex.js'
import { NoteView } from './NoteView.js'
import { Sidebar } from './Sidebar.js'
import { loadUser, maxNameLength, renamed, saveUser, type User } from './user.js'

const subscribeToAddress = (onChange: () => void): (() => void) => {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

/** The note id in the address, if it is one this app opens. */
const idInAddress = (): string | undefined => {
  const match = /^#\/(.+)$/.exec(location.hash)
  if (!match?.[1]) return undefined
  try {
    const id = decodeURIComponent(match[1])
    return isNoteId(id) ? id : undefined
  } catch {
    return undefined
  }
}

const NameInput = ({ user, onChange }: { readonly user: User; readonly onChange: (user: User) => void }) => {
  const [draft, setDraft] = useState(user.name)
  useEffect(() => setDraft(user.name), [user.name])
  const commit = (): void => {
    const next = renamed(user, draft)
    setDraft(next.name)
    if (next.name !== user.name) onChange(saveUser(next))
  }
  return (
    <label className="you">
      You are{' '}
      <input
        data-testid="user-name"
        maxLength={maxNameLength}
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => event.key === 'Enter' && commit()}
        style={{ borderColor: user.color }}
      />
    </label>
  )
}

export const App = (): ReactNode => {
  const index = useDocument(indexDocumentId)
  const openId = useSyncExternalStore(subscribeToAddress, idInAddress)
  const [user, setUser] = useState(loadUser)
  return (
    <>
      <header className="top">
        <h1>Concord notes</h1>
        <p className="tagline">Rich text, offline first. Open this page in two windows and write in both.</p>
        <NameInput user={user} onChange={setUser} />
      </header>
      <div className="layout">
        <Sidebar index={index} openId={openId} />
        {openId === undefined ? (
          <main className="empty">
            <h2>Pick a note, or create one</h2>
            <p>Everything you write is stored in this browser first and synced through the relay when it can be.</p>
          </main>
        ) : (
          <NoteView key={openId} index={index} id={openId} user={user} />
        )}
      </div>
    </>
  )
}
