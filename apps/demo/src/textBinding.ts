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
 * deletes the object. A forged update can even put a `Y.Array`'s content
 * into the text, which counts in its length but is in no delta (and shifts
 * the deltas after it), and which `Y.Text.delete` cannot delete: the editor
 * shows it as placeholders too (its insert positions count it), deletes
 * around it, and after each remote change is checked against the text and,
 * where they differ, brought level.
 */
import type { Extension } from '@codemirror/state'
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'
import { ySyncAnnotation, ySyncFacet, type YSyncConfig } from 'y-codemirror.next'
import * as Y from 'yjs'

/** What the editor shows in place of content that is not text. */
export const notTextPlaceholder = '\uFFFC'

type Delta = Array<{ insert?: unknown; delete?: number; retain?: number }>

/** The text of an insert as the editor shows it: a string as it is, anything else as one placeholder. */
const insertedText = (insert: unknown): string => (typeof insert === 'string' ? insert : notTextPlaceholder)

/**
 * The content of `text` that takes up positions, item by item. Not `toDelta()`: a forged update can
 * put content of a `Y.Array` (any JSON) into a `Y.Text`, which counts in its length but is in no delta.
 */
const countedItems = function* (text: Y.Text): Generator<Y.Item> {
  for (let item = text._start; item !== null; item = item.right) {
    if (!item.deleted && item.countable) yield item
  }
}

/** The editor's text for `text`: its strings, with a placeholder for each unit of anything else; as long as `text`. */
export const editorTextOf = (text: Y.Text): string => {
  let shown = ''
  for (const item of countedItems(text)) {
    shown +=
      item.content instanceof Y.ContentString ? item.content.str : notTextPlaceholder.repeat(item.content.getLength())
  }
  return shown
}

/** Content that Yjs's `Y.Text.delete` skips (it deletes strings, embeds and nested types only). */
const isUndeletable = (item: Y.Item): boolean =>
  !(
    item.content instanceof Y.ContentString ||
    item.content instanceof Y.ContentEmbed ||
    item.content instanceof Y.ContentType
  )

/** How many positions in [from, to) of `text` hold content that `Y.Text.delete` skips. */
const undeletableBetween = (text: Y.Text, from: number, to: number): number => {
  let position = 0
  let count = 0
  for (const item of countedItems(text)) {
    const end = position + item.length
    if (position >= to) break
    if (end > from && isUndeletable(item)) count += Math.min(end, to) - Math.max(position, from)
    position = end
  }
  return count
}

/** How many pieces of content in `text` are not text, and whether any of it is formatted (which the editor ignores). */
export const contentNotShown = (text: Y.Text): { objects: number; formatted: boolean } => {
  let objects = 0
  for (const item of countedItems(text))
    if (!(item.content instanceof Y.ContentString)) objects += item.content.getLength()
  return {
    objects,
    formatted: (text.toDelta() as Array<{ attributes?: unknown }>).some((op) => op.attributes !== undefined),
  }
}

class TextSync {
  readonly #view: EditorView
  readonly #conf: YSyncConfig
  readonly #observer: (event: Y.YTextEvent, transaction: Y.Transaction) => void

  constructor(view: EditorView) {
    this.#view = view
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
        // Never throw inside a Yjs observer: that would break the client's sync. Catch up below instead.
        console.error('the editor could not apply a change to the text; showing it afresh:', error)
      }
      // Content that is in no delta (see countedItems) also shifts the positions of the deltas that follow.
      this.#catchUp(view)
    }
    this.#conf.ytext.observe(this.#observer)
  }

  /** Makes the editor show exactly `editorTextOf` the text, changing only the part between what both share at each end. */
  #catchUp(view: EditorView): void {
    const shown = view.state.doc.toString()
    const wanted = editorTextOf(this.#conf.ytext)
    if (shown === wanted) return
    let start = 0
    while (start < shown.length && start < wanted.length && shown[start] === wanted[start]) start++
    let end = 0
    while (
      end < shown.length - start &&
      end < wanted.length - start &&
      shown[shown.length - 1 - end] === wanted[wanted.length - 1 - end]
    ) {
      end++
    }
    view.dispatch({
      changes: { from: start, to: shown.length - end, insert: wanted.slice(start, wanted.length - end) },
      annotations: [ySyncAnnotation.of(this.#conf)],
    })
  }

  update(update: ViewUpdate): void {
    if (!update.docChanged || update.transactions[0]?.annotation(ySyncAnnotation) === this.#conf) return
    const text = this.#conf.ytext
    let kept = false
    text.doc!.transact(() => {
      // Positions in the old document, moved by what this loop already changed in the text.
      let shift = 0
      update.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
        const insertText = inserted.sliceString(0, inserted.length, '\n')
        // Y.Text.delete skips forged content (and would delete as much further on): count only what it deletes.
        const undeletable = fromA === toA ? 0 : undeletableBetween(text, fromA + shift, toA + shift)
        const deleted = toA - fromA - undeletable
        if (deleted > 0) text.delete(fromA + shift, deleted)
        if (insertText.length > 0) text.insert(fromA + shift, insertText)
        shift += insertText.length - deleted
        kept ||= undeletable > 0
      })
    }, this.#conf)
    // What the text kept is shown again, once this update is over (a view cannot be changed during one).
    if (kept) queueMicrotask(() => this.#catchUp(this.#view))
  }

  destroy(): void {
    this.#conf.ytext.unobserve(this.#observer)
  }
}

/** The sync between CodeMirror and the `Y.Text` in the editor's `ySyncFacet`, text only. */
export const textSync: Extension = ViewPlugin.fromClass(TextSync)
