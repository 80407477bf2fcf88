/**
 * Owns the list of notes: a shared Yjs document of its own, so a note created
 * or renamed on one device appears on every other, offline first like the
 * rest. Entries come from other writers too, so every one is checked before
 * it is shown: an id the relay would accept, a title of bounded length.
 */
import type * as Y from 'yjs'

/** The id of the document that holds the list. */
export const indexDocumentId = 'concord-notes-react:index'
export const maxTitleLength = 200

export interface NoteEntry {
  readonly id: string
  readonly title: string
  readonly createdAt: number
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what these keep out.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/
// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** A note id this app opens: what the relay accepts (1 to 256 characters, no control characters). */
export const isNoteId = (id: string): boolean => id.length > 0 && id.length <= 256 && !controlCharacter.test(id)

export const cleanTitle = (title: unknown): string =>
  typeof title === 'string' ? [...title.replace(controlCharacters, '')].slice(0, maxTitleLength).join('') : ''

/** The entries of the index's snapshot that can be shown, oldest first (so the list does not jump). */
export const noteEntries = (snapshot: Readonly<Record<string, unknown>>): NoteEntry[] =>
  Object.entries(snapshot)
    .flatMap(([id, value]): NoteEntry[] => {
      if (!isNoteId(id) || typeof value !== 'object' || value === null) return []
      const { title, createdAt } = value as { title?: unknown; createdAt?: unknown }
      const created = typeof createdAt === 'number' && Number.isFinite(createdAt) ? createdAt : 0
      return [{ id, title: cleanTitle(title), createdAt: created }]
    })
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

export const notesOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('notes')

/** Adds a note and returns its id. */
export const createNote = (doc: Y.Doc, title: string): string => {
  const random = crypto.getRandomValues(new Uint32Array(2))
  const id = `note-${[...random].map((part) => part.toString(36)).join('')}`
  notesOf(doc).set(id, { title: cleanTitle(title), createdAt: Date.now() })
  return id
}

/** Renames a note; one the index does not know yet (opened by its link) is added. */
export const renameNote = (doc: Y.Doc, id: string, title: string): void => {
  const entry = notesOf(doc).get(id) as { createdAt?: unknown } | undefined
  const createdAt = typeof entry?.createdAt === 'number' ? entry.createdAt : Date.now()
  notesOf(doc).set(id, { title: cleanTitle(title), createdAt })
}
