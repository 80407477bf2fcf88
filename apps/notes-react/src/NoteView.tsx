/**
 * Owns the open note: its title (in the shared index), who else is here
 * (presence, checked by parsePresence), the editor and the status bar. This
 * user's name and colour go into the note's presence, where y-prosemirror's
 * cursors and the list of people read them.
 */
import type { DocHandle } from '@concord/client'
import { usePresence, useUnsavedChangesWarning, useDocument, useYMap } from '@concord/react'
import { useEffect, useState, type ReactNode } from 'react'
import { cleanTitle, maxTitleLength, notesOf, renameNote } from './documentIndex.js'
import { RichTextEditor } from './RichTextEditor.js'
import { StatusBar } from './StatusBar.js'
import { parsePresence, type User } from './user.js'

const TitleInput = ({ index, id }: { readonly index: DocHandle; readonly id: string }): ReactNode => {
  const entry = useYMap(notesOf(index.doc))[id] as { title?: unknown } | undefined
  const shared = cleanTitle(entry?.title) || 'Untitled'
  // What the user is typing wins over the shared title while the input has the focus.
  const [editing, setEditing] = useState<string | undefined>(undefined)
  return (
    <input
      className="title"
      data-testid="document-title"
      aria-label="Note title"
      maxLength={maxTitleLength}
      value={editing ?? shared}
      onFocus={() => setEditing(shared)}
      onBlur={() => setEditing(undefined)}
      onChange={(event) => {
        setEditing(event.target.value)
        renameNote(index.doc, id, event.target.value)
      }}
    />
  )
}

const People = ({ handle }: { readonly handle: DocHandle }): ReactNode => {
  const { others } = usePresence(handle, { parse: parsePresence })
  if (others.length === 0) return <span className="presence" data-testid="presence" />
  return (
    <span className="presence" data-testid="presence">
      Here:{' '}
      {others.map(({ clientId, state }) => (
        <span key={clientId} className="person" style={{ borderColor: state.color }}>
          {state.name}
        </span>
      ))}
    </span>
  )
}

export const NoteView = ({
  index,
  id,
  user,
}: {
  readonly index: DocHandle
  readonly id: string
  readonly user: User
}): ReactNode => {
  const handle = useDocument(id)
  // Set straight on awareness: this view shows no presence itself, so it need not re-render with it.
  useEffect(() => handle.awareness.setLocalStateField('user', user), [handle, user])
  useUnsavedChangesWarning(handle)
  return (
    <>
      <main className="note">
        <div className="note-header">
          <TitleInput index={index} id={id} />
          <People handle={handle} />
        </div>
        <RichTextEditor handle={handle} />
      </main>
      <StatusBar handle={handle} />
    </>
  )
}
