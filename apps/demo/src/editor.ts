/**
 * Owns the collaborative text editor: CodeMirror 6 bound to the document's
 * `body` text through y-codemirror.next, with the other people's cursors
 * and names drawn from the document's awareness.
 */
import { defaultKeymap } from '@codemirror/commands'
import { EditorState } from '@codemirror/state'
import { drawSelection, EditorView, keymap, placeholder } from '@codemirror/view'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import type { DocHandle } from '@concord/client'

// y-codemirror.next shows a name only while the mouse is over its cursor; here it is always shown.
const namesAlwaysShown = EditorView.theme({
  '.cm-ySelectionInfo': { opacity: '1', fontFamily: 'inherit', borderRadius: '3px 3px 3px 0', top: '-1.35em' },
})

/** Mounts an editor for `handle` in `parent`; returns the function that removes it. */
export const mountEditor = (parent: HTMLElement, handle: DocHandle): (() => void) => {
  const text = handle.doc.getText('body')
  const undoManager = new Y.UndoManager(text)
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text.toString(),
      extensions: [
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        drawSelection(),
        EditorView.lineWrapping,
        placeholder('Write here. Open this page in a second window to write together.'),
        yCollab(text, handle.awareness, { undoManager }),
        namesAlwaysShown,
      ],
    }),
  })
  return () => {
    view.destroy()
    undoManager.destroy()
  }
}
