/**
 * Owns what the History panel shows of a version, as plain data: its name
 * in the list, and a read-only preview of its content (the `body` text and
 * the `todos`), decoded from the version's Yjs update into a Y.Doc of its
 * own that is thrown away afterwards, so nothing of it reaches the live
 * document. A version holds whatever its writers wrote, so its content is
 * checked for its shape like the live document's.
 */
import * as Y from 'yjs'
import type { Version } from './historyRequests.js'

/** What a version's todo list holds: todos, or an item of the wrong shape. */
export type PreviewTodo = { readonly text: string; readonly done: boolean } | { readonly wrongShape: true }

export interface Preview {
  /** The text, with anything that is not text shown as U+FFFC, as the editor shows it. */
  readonly body: string
  readonly todos: readonly PreviewTodo[]
}

/** Thrown when a version's state cannot be read. */
export class PreviewError extends Error {
  readonly code = 'unreadableVersion'
  constructor(cause: unknown) {
    super(`this version could not be read: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'PreviewError'
  }
}

const objectReplacement = '\uFFFC'

const textOf = (text: Y.Text): string =>
  (text.toDelta() as Array<{ insert?: unknown }>)
    .map(({ insert }) => (typeof insert === 'string' ? insert : objectReplacement))
    .join('')

const todoOf = (item: unknown): PreviewTodo => {
  if (!(item instanceof Y.Map)) return { wrongShape: true }
  const todo = item as Y.Map<unknown>
  const text = todo.get('text')
  return typeof text === 'string' ? { text, done: todo.get('done') === true } : { wrongShape: true }
}

/** The preview of the version whose state is `update`; throws a PreviewError when it is not a readable one. */
export const previewOf = (update: Uint8Array): Preview => {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, update)
    return { body: textOf(doc.getText('body')), todos: doc.getArray<unknown>('todos').map(todoOf) }
  } catch (error) {
    throw new PreviewError(error)
  } finally {
    doc.destroy()
  }
}

/**
 * The name of `version` in the list: its label, "Automatic version" for one the relay took by
 * itself, and for a restore "restored from" the label of the version it brought back, when that
 * one is among `known` and has one (otherwise its id).
 */
export const versionName = (version: Version, known: readonly Version[] = []): string => {
  if (version.restoredFrom !== null) {
    const source = known.find(({ id }) => id === version.restoredFrom)
    return `restored from ${source?.label && source.restoredFrom === null ? source.label : version.restoredFrom}`
  }
  return version.label ?? 'Automatic version'
}

/** Who wrote since the version before: the token subjects, or a word that there were none to name. */
export const authorsText = (version: Version): string =>
  version.authors.length > 0 ? `by ${version.authors.join(', ')}` : 'no writers named'
