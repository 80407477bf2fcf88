/**
 * Owns how the shared text reaches CodeMirror: only ever as text. Another
 * writer may put anything a `Y.Text` can hold into it (an embedded object,
 * a nested Yjs type, formatting), all valid Yjs. y-codemirror.next's own
 * sync hands such an insert to CodeMirror as if it were a string, which
 * spins the page; this sync, used in its place, shows each piece of content
 * that is not text as one U+FFFC (OBJECT REPLACEMENT CHARACTER), so that
 * positions in the editor stay those of the Y.Text (an embed is one unit
 * long in Yjs too) and remote cursors, undo and local edits land where they
 * should. Formatting attributes are ignored. Deleting the placeholder
 * deletes the object.
 */
import type { Extension } from '@codemirror/state'
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'
import { ySyncAnnotation, ySyncFacet, type YSyncConfig } from 'y-codemirror.next'
import type * as Y from 'yjs'

/** What the editor shows in place of content that is not text. */
export const notTextPlaceholder = '\uFFFC'

type Delta = Array<{ insert?: unknown; delete?: number; retain?: number }>

/** The text of an insert as the editor shows it: a string as it is, anything else as one placeholder. */
const insertedText = (insert: unknown): string => (typeof insert === 'string' ? insert : notTextPlaceholder)

/** The editor's text for `text`: its strings, with a placeholder for each object. */
export const editorTextOf = (text: Y.Text): string =>
  (text.toDelta() as Delta).map(({ insert }) => insertedText(insert)).join('')

/** How many pieces of content in `text` are not text, and whether any of it is formatted (which the editor ignores). */
export const contentNotShown = (text: Y.Text): { objects: number; formatted: boolean } => {
  const delta = text.toDelta() as Array<{ insert?: unknown; attributes?: unknown }>
  return {
    objects: delta.filter(({ insert }) => insert !== undefined && typeof insert !== 'string').length,
    formatted: delta.some(({ attributes }) => attributes !== undefined),
  }
}

class TextSync {
  readonly #conf: YSyncConfig
  readonly #observer: (event: Y.YTextEvent, transaction: Y.Transaction) => void

  constructor(view: EditorView) {
    this.#conf = view.state.facet(ySyncFacet)
    this.#observer = (event, transaction) => {
      if (transaction.origin === this.#conf) return
      const changes: Array<{ from: number; to: number; insert: string }> = []
      let position = 0
      for (const step of event.delta as Delta) {
        if (step.insert !== undefined) {
          changes.push({ from: position, to: position, insert: insertedText(step.insert) })
        } else if (typeof step.delete === 'number') {
          changes.push({ from: position, to: position + step.delete, insert: '' })
          position += step.delete
        } else if (typeof step.retain === 'number') {
          position += step.retain
        }
      }
      try {
        view.dispatch({ changes, annotations: [ySyncAnnotation.of(this.#conf)] })
      } catch (error) {
        // Never throw inside a Yjs observer: that would break the client's sync. Show the whole text afresh instead.
        console.error('the editor could not apply a change to the text; showing it afresh:', error)
        view.dispatch({
          changes: { from: 0, to: view.state.doc.length, insert: editorTextOf(this.#conf.ytext) },
          annotations: [ySyncAnnotation.of(this.#conf)],
        })
      }
    }
    this.#conf.ytext.observe(this.#observer)
  }

  update(update: ViewUpdate): void {
    if (!update.docChanged || update.transactions[0]?.annotation(ySyncAnnotation) === this.#conf) return
    const text = this.#conf.ytext
    text.doc!.transact(() => {
      // Positions in the old document, moved by what this loop already changed.
      let shift = 0
      update.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
        const insertText = inserted.sliceString(0, inserted.length, '\n')
        if (fromA !== toA) text.delete(fromA + shift, toA - fromA)
        if (insertText.length > 0) text.insert(fromA + shift, insertText)
        shift += insertText.length - (toA - fromA)
      })
    }, this.#conf)
  }

  destroy(): void {
    this.#conf.ytext.unobserve(this.#observer)
  }
}

/** The sync between CodeMirror and the `Y.Text` in the editor's `ySyncFacet`, text only. */
export const textSync: Extension = ViewPlugin.fromClass(TextSync)
