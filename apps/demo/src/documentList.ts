/**
 * Owns the list of documents: itself a shared Yjs document, so a document
 * created or renamed on one device appears on every other, offline first
 * like the rest. Each entry maps a document's id to its title and creation
 * time. Anyone who may write the list may put anything under a key, so
 * each entry is checked for its shape when read: one that is not
 * `{ title: string, createdAt: number }` is skipped and reported, never
 * used (a BigInt `createdAt` would throw when sorted).
 */
import * as Y from 'yjs'

/** The id of the document that holds the list. */
export const documentListId = 'concord-demo:documents'

export interface DocumentEntry {
  readonly id: string
  readonly title: string
  readonly createdAt: number
}

/** An entry of the wrong shape: its id and what is wrong with it. */
export interface SkippedEntry {
  readonly id: string
  readonly problem: string
}

interface StoredEntry {
  readonly title: string
  readonly createdAt: number
}

const kindOf = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : value instanceof Y.AbstractType
        ? 'a shared type'
        : value instanceof Uint8Array
          ? 'bytes'
          : `a ${typeof value}`

/** The entry `value` stands for, or what is wrong with it. */
const entryOf = (value: unknown): StoredEntry | { problem: string } => {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Y.AbstractType) {
    return { problem: `${kindOf(value)} where an entry should be` }
  }
  const { title, createdAt } = value as Record<string, unknown>
  if (typeof title !== 'string') return { problem: `its title is ${kindOf(title)}` }
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
    return { problem: `its creation time is ${kindOf(createdAt)}` }
  }
  return { title, createdAt }
}

export class DocumentList {
  readonly #entries: Y.Map<unknown>

  constructor(doc: Y.Doc) {
    this.#entries = doc.getMap<unknown>('documents')
  }

  /** The entries of the right shape, oldest first (so the list does not jump as titles change), and the others. */
  all(): { entries: DocumentEntry[]; skipped: SkippedEntry[] } {
    const entries: DocumentEntry[] = []
    const skipped: SkippedEntry[] = []
    for (const [id, value] of this.#entries.entries()) {
      const entry = entryOf(value)
      if ('problem' in entry) skipped.push({ id, problem: entry.problem })
      else entries.push({ id, ...entry })
    }
    entries.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
    skipped.sort((a, b) => a.id.localeCompare(b.id))
    return { entries, skipped }
  }

  /** The title of `id`, if it has an entry of the right shape. */
  title(id: string): string | undefined {
    const entry = entryOf(this.#entries.get(id))
    return 'problem' in entry ? undefined : entry.title
  }

  /** Adds a document and returns its id. */
  create(title: string): string {
    const id = `doc-${crypto.randomUUID().slice(0, 8)}`
    this.#entries.set(id, { title, createdAt: Date.now() } satisfies StoredEntry)
    return id
  }

  /** Renames a document; one the list does not know yet (opened by its link), or of the wrong shape, is (re)written whole. */
  rename(id: string, title: string): void {
    const entry = entryOf(this.#entries.get(id))
    const createdAt = 'problem' in entry ? Date.now() : entry.createdAt
    this.#entries.set(id, { title, createdAt } satisfies StoredEntry)
  }

  /** Calls `listener` on every change, from here or elsewhere; returns the function that stops it. */
  observe(listener: () => void): () => void {
    this.#entries.observe(listener)
    return () => this.#entries.unobserve(listener)
  }
}
