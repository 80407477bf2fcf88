/**
 * Owns the rich-text editor of one note: a ProseMirror view bound to the
 * note's Y.XmlFragment by y-prosemirror (text and formatting, shared undo of
 * this user's own edits, the others' cursors), with a small toolbar. The
 * view lives as long as the handle: StrictMode's extra mount makes and
 * destroys one view first, which y-prosemirror allows.
 */
import type { DocHandle } from '@concord/client'
import { useCurrentAwareness, useCurrentDoc } from '@concord/react'
import { baseKeymap, setBlockType, toggleMark } from 'prosemirror-commands'
import { keymap } from 'prosemirror-keymap'
import { EditorState, type Command } from 'prosemirror-state'
import { EditorView } from 'prosemirror-view'
import { useEffect, useRef, useState, type ReactNode } from 'react'
import { redo, undo, ySyncPlugin, yUndoPlugin } from 'y-prosemirror'
import { noteSchema } from './editorSchema.js'
import { remoteCursorsPlugin } from './remoteCursors.js'

const { strong, em } = noteSchema.marks
const { heading, paragraph } = noteSchema.nodes

const toolbar: readonly { readonly label: string; readonly title: string; readonly command: Command }[] = [
  { label: 'B', title: 'Bold (Ctrl+B)', command: toggleMark(strong) },
  { label: 'I', title: 'Italic (Ctrl+I)', command: toggleMark(em) },
  { label: 'H', title: 'Heading', command: setBlockType(heading, { level: 2 }) },
  { label: '¶', title: 'Paragraph', command: setBlockType(paragraph) },
]

export const RichTextEditor = ({ handle }: { readonly handle: DocHandle }): ReactNode => {
  const mount = useRef<HTMLDivElement>(null)
  const [view, setView] = useState<EditorView | undefined>(undefined)

  // A fork (a clock squat's victim, see the client's README) replaces both: the view is made again on them.
  const doc = useCurrentDoc(handle)
  const awareness = useCurrentAwareness(handle)

  useEffect(() => {
    const editorView = new EditorView(mount.current, {
      state: EditorState.create({
        schema: noteSchema,
        plugins: [
          ySyncPlugin(doc.getXmlFragment('body')),
          remoteCursorsPlugin(awareness),
          yUndoPlugin(),
          keymap({
            'Mod-z': undo,
            'Mod-y': redo,
            'Mod-Shift-z': redo,
            'Mod-b': toggleMark(strong),
            'Mod-i': toggleMark(em),
          }),
          keymap(baseKeymap),
        ],
      }),
      attributes: { 'aria-label': 'Note text', 'data-testid': 'editor-content' },
    })
    setView(editorView)
    return () => {
      setView(undefined)
      editorView.destroy()
    }
  }, [doc, awareness])

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Formatting">
        {toolbar.map(({ label, title, command }) => (
          <button
            key={label}
            type="button"
            title={title}
            aria-label={title}
            disabled={!view}
            // Keep the editor's focus and selection: act on mouse down, not click.
            onMouseDown={(event) => {
              event.preventDefault()
              if (view) command(view.state, view.dispatch, view)
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <div ref={mount} className="editor-mount" data-testid="editor" />
    </div>
  )
}
