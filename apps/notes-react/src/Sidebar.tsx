/**
 * Owns the sidebar: the list of notes from the shared index (checked entries
 * only, see documentIndex.ts), the open one marked, and the button that adds
 * a note.
 */
import type { DocHandle } from '@concord/client'
import { useYMap } from '@concord/react'
import { useMemo, type ReactNode } from 'react'
import { createNote, noteEntries, notesOf } from './documentIndex.js'

export const noteAddress = (id: string): string => `#/${encodeURIComponent(id)}`

export const Sidebar = ({
  index,
  openId,
}: {
  readonly index: DocHandle
  readonly openId: string | undefined
}): ReactNode => {
  const snapshot = useYMap(notesOf(index.doc))
  const entries = useMemo(() => noteEntries(snapshot), [snapshot])
  return (
    <nav className="sidebar" aria-label="Notes">
      <button
        type="button"
        data-testid="new-document"
        onClick={() => {
          location.hash = noteAddress(createNote(index.doc, 'Untitled'))
        }}
      >
        + New note
      </button>
      <ul className="documents" data-testid="document-list">
        {entries.map(({ id, title }) => (
          <li key={id}>
            <a href={noteAddress(id)} aria-current={id === openId ? 'page' : undefined}>
              {title || 'Untitled'}
            </a>
          </li>
        ))}
        {entries.length === 0 && <li className="hint">No notes yet.</li>}
      </ul>
    </nav>
  )
}
