/**
 * Owns the collaborative text editor: CodeMirror 6 bound to the document's
 * `body` text through y-codemirror.next (its cursors, names and undo), with
 * the text sync of textBinding.ts in place of its own, and other people's
 * presence seen through presence.ts. Content in the text that is not text
 * is shown as a placeholder, and a notice says so.
 */
import { defaultKeymap } from '@codemirror/commands'
import { EditorState } from '@codemirror/state'
import { drawSelection, EditorView, keymap, placeholder } from '@codemirror/view'
import { yCollab, ySync, yUndoManagerKeymap } from 'y-codemirror.next'
import * as Y from 'yjs'
import type { DocHandle } from '@concord/client'
import { neverThrowing } from './observed.js'
import { PresenceView } from './presence.js'
import { contentNotShown, editorTextOf, notTextPlaceholder, textSync } from './textBinding.js'

const textName = 'body'

// y-codemirror.next shows a name only while the mouse is over its cursor; here it is always shown.
const namesAlwaysShown = EditorView.theme({
  '.cm-ySelectionInfo': { opacity: '1', fontFamily: 'inherit', borderRadius: '3px 3px 3px 0', top: '-1.35em' },
})

/** Mounts an editor for `handle` in `parent`, and its notice in `notice`; returns the function that removes it. */
export const mountEditor = (parent: HTMLElement, notice: HTMLElement, handle: DocHandle): (() => void) => {
  const text = handle.doc.getText(textName)
  const undoManager = new Y.UndoManager(text)
  // y-codemirror.next's extensions with its own sync swapped for the one that hands CodeMirror text only.
  const collab = (yCollab(text, new PresenceView(handle.awareness, textName), { undoManager }) as unknown[]).map(
    (extension) => (extension === ySync ? textSync : extension),
  ) as ReturnType<typeof yCollab>
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: editorTextOf(text),
      extensions: [
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        drawSelection(),
        EditorView.lineWrapping,
        placeholder('Write here. Open this page in a second window to write together.'),
        collab,
        namesAlwaysShown,
      ],
    }),
  })
  const showNotice = neverThrowing('the notice about the text', (): void => {
    const { objects, formatted } = contentNotShown(text)
    const one = objects === 1
    const parts = [
      objects === 0
        ? ''
        : `This text holds ${one ? 'an embedded object' : `${objects} embedded objects`} that ${one ? 'is' : 'are'} ` +
          `not text, written by another app or person. ${one ? 'It is' : 'They are'} shown as ${notTextPlaceholder} ` +
          `and not opened; deleting ${one ? 'it' : 'one'} removes it for everyone.`,
      formatted ? 'Formatting in this text (bold, links, ...) is not shown.' : '',
    ].filter(Boolean)
    notice.hidden = parts.length === 0
    notice.textContent = parts.join(' ')
  })
  text.observe(showNotice)
  showNotice()
  return () => {
    text.unobserve(showNotice)
    notice.hidden = true
    view.destroy()
    undoManager.destroy()
  }
}
