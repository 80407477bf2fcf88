/**
 * Owns the list of documents: itself a shared Yjs document, so a document
 * created or renamed on one device appears on every other, offline first
 * like the rest. Each entry maps a document's id to its title.
 */
import type * as Y from 'yjs'

/** The id of the document that holds the list. */
export const documentListId = 'concord-demo:documents'

export interface DocumentEntry {
  readonly id: string
  readonly title: string
  readonly createdAt: number
}

type StoredEntry = Omit<DocumentEntry, 'id'>

export class DocumentList {
  readonly #entries: Y.Map<StoredEntry>

  constructor(doc: Y.Doc) {
    this.#entries = doc.getMap<StoredEntry>('documents')
  }

  /** Oldest first, so the list does not jump as titles change. */
  all(): DocumentEntry[] {
    return [...this.#entries.entries()]
      .map(([id, entry]) => ({ id, ...entry }))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  }

  title(id: string): string | undefined {
    return this.#entries.get(id)?.title
  }

  /** Adds a document and returns its id. */
  create(title: string): string {
    const id = `doc-${crypto.randomUUID().slice(0, 8)}`
    this.#entries.set(id, { title, createdAt: Date.now() })
    return id
  }

  /** Renames a document; one the list does not know yet (opened by its link) is added. */
  rename(id: string, title: string): void {
    const entry = this.#entries.get(id)
    this.#entries.set(id, { title, createdAt: entry?.createdAt ?? Date.now() })
  }

  /** Calls `listener` on every change, from here or elsewhere; returns the function that stops it. */
  observe(listener: () => void): () => void {
    this.#entries.observe(listener)
    return () => this.#entries.unobserve(listener)
  }
}
