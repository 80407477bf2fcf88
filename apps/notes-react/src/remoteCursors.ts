/**
 * Owns how other users' cursors and selections appear in the editor, through
 * y-prosemirror's cursor plugin. Their presence is untrusted: a state whose
 * cursor is not the shape of two Yjs relative positions is not drawn at all
 * (y-prosemirror would throw decoding it), names and colours pass the checks
 * in user.ts (else "Someone" in grey), and both reach the DOM through
 * textContent and style properties, never markup or a style string.
 */
import { yCursorPlugin } from 'y-prosemirror'
import type { Awareness } from 'y-protocols/awareness'
import { cleanName, isColor } from './user.js'

const fallbackColor = '#6b7280'

const isInteger = (value: unknown): boolean => Number.isSafeInteger(value)
const isId = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  (typeof value === 'object' &&
    isInteger((value as { client?: unknown }).client) &&
    isInteger((value as { clock?: unknown }).clock))

/** The JSON of a Y.RelativePosition, as `Y.relativePositionToJSON` writes it. */
const isRelativePosition = (value: unknown): boolean => {
  if (typeof value !== 'object' || value === null) return false
  const { type, tname, item, assoc } = value as Record<string, unknown>
  return (
    isId(type) &&
    isId(item) &&
    (tname === undefined || tname === null || typeof tname === 'string') &&
    (assoc === undefined || isInteger(assoc))
  )
}

const hasDrawableCursor = (state: Record<string, unknown>): boolean => {
  const cursor = state.cursor
  if (cursor === undefined || cursor === null) return true // no cursor: nothing to draw, nothing to check
  if (typeof cursor !== 'object') return false
  const { anchor, head } = cursor as Record<string, unknown>
  return isRelativePosition(anchor) && isRelativePosition(head)
}

const shown = (user: unknown): { readonly name: string; readonly color: string } => {
  const { name, color } = (typeof user === 'object' && user !== null ? user : {}) as Record<string, unknown>
  return { name: cleanName(name) ?? 'Someone', color: isColor(color) ? color : fallbackColor }
}

/** The caret of another user, with the name above it. */
export const cursorOf = (user: unknown): HTMLElement => {
  const { name, color } = shown(user)
  const cursor = document.createElement('span')
  cursor.className = 'ProseMirror-yjs-cursor'
  cursor.style.borderColor = color
  const label = document.createElement('div')
  label.style.backgroundColor = color
  label.textContent = name
  cursor.append('\u2060', label, '\u2060')
  return cursor
}

/** The decoration of another user's selection. */
export const selectionOf = (user: unknown) => ({
  // The colour is #rrggbb (checked above); 33 makes it a light tint.
  style: `background-color: ${shown(user).color}33`,
  class: 'ProseMirror-yjs-selection',
})

/** Which presence states the plugin draws: the others', with a cursor of the right shape (or none). */
export const cursorFilter = (localClientId: number, clientId: number, state: Record<string, unknown>): boolean =>
  localClientId !== clientId && hasDrawableCursor(state)

/** The plugin that draws the cursors of the others in `awareness`. */
export const remoteCursorsPlugin = (awareness: Awareness) =>
  yCursorPlugin(awareness, {
    awarenessStateFilter: cursorFilter,
    cursorBuilder: cursorOf,
    selectionBuilder: selectionOf,
  })
