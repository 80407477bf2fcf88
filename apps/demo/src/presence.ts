/**
 * Owns what the page takes from other people's presence (Yjs awareness):
 * anyone who may open a document, readers included, may send any JSON as
 * their state, so a state is input like any other. A name is used only as
 * text, trimmed to a bounded length; a colour only when it is exactly
 * `#rrggbb` (y-codemirror.next writes colours into `style` attributes, so
 * `red;position:fixed;...` would be CSS); a cursor only when it has the shape
 * of a position in the document's text. Anything else is left out: the
 * person is shown with a neutral colour, or without a cursor.
 */
import type { DocHandle } from '@concord/client'

type Awareness = DocHandle['awareness']

export const maxNameLength = 40
const colorPattern = /^#[0-9a-f]{6}$/i
/** The selection colour may carry an alpha byte, as ours does (`#rrggbb33`). */
const lightColorPattern = /^#[0-9a-f]{6}([0-9a-f]{2})?$/i
const neutralColor = '#6e7781'

export interface PresentUser {
  readonly name: string
  readonly color: string
  readonly colorLight: string
}

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `name` cut to `maxNameLength` characters (whole code points), trimmed. */
export const boundedName = (name: string): string => Array.from(name.trim()).slice(0, maxNameLength).join('').trim()

export const isColor = (value: unknown): value is string => typeof value === 'string' && colorPattern.test(value)

/** The user a presence state names, made safe to show; undefined when it names none. */
export const presentUser = (value: unknown): PresentUser | undefined => {
  if (!isObject(value) || typeof value.name !== 'string') return undefined
  const name = boundedName(value.name)
  if (!name) return undefined
  const color = isColor(value.color) ? value.color : neutralColor
  const colorLight =
    typeof value.colorLight === 'string' && lightColorPattern.test(value.colorLight) ? value.colorLight : `${color}33`
  return { name, color, colorLight }
}

interface Id {
  readonly client: number
  readonly clock: number
}
interface Position {
  readonly type: null
  readonly tname: string | null
  readonly item: Id | null
  readonly assoc: number
}

const idOf = (value: unknown): Id | null | undefined => {
  if (value === null || value === undefined) return null
  if (!isObject(value)) return undefined
  const { client, clock } = value
  return Number.isSafeInteger(client) &&
    Number.isSafeInteger(clock) &&
    (client as number) >= 0 &&
    (clock as number) >= 0
    ? { client: client as number, clock: clock as number }
    : undefined
}

/**
 * A relative position into the top-level text `textName`, in the form Yjs reads (every field
 * present), or undefined. Yjs reads a missing `item` as an id and throws; a `tname` it does not
 * know would make it create that type in the document.
 */
const positionOf = (value: unknown, textName: string): Position | undefined => {
  if (!isObject(value)) return undefined
  const item = idOf(value.item)
  const tname = value.tname ?? null
  const assoc = value.assoc ?? 0
  if (item === undefined || (value.type ?? null) !== null || (tname !== null && tname !== textName)) return undefined
  if (!Number.isSafeInteger(assoc)) return undefined
  if (item === null && tname === null) return undefined
  return { type: null, tname: tname as string | null, item, assoc: assoc as number }
}

const cursorOf = (value: unknown, textName: string): { anchor: Position; head: Position } | undefined => {
  if (!isObject(value)) return undefined
  const anchor = positionOf(value.anchor, textName)
  const head = positionOf(value.head, textName)
  return anchor && head ? { anchor, head } : undefined
}

/** Another person's state as the page uses it: a safe user, a well-formed cursor, nothing else. */
export const presentState = (state: unknown, textName: string): { user?: PresentUser; cursor?: unknown } => {
  if (!isObject(state)) return {}
  const user = presentUser(state.user)
  const cursor = cursorOf(state.cursor, textName)
  return { ...(user && { user }), ...(cursor && { cursor }) }
}

/**
 * The awareness as y-codemirror.next sees it: this client's own state as it is, everyone else's
 * through `presentState`. It passes everything else (events, setting the local state) through.
 */
export class PresenceView {
  readonly #awareness: Awareness
  readonly #textName: string

  constructor(awareness: Awareness, textName: string) {
    this.#awareness = awareness
    this.#textName = textName
  }

  get doc(): Awareness['doc'] {
    return this.#awareness.doc
  }

  get clientID(): number {
    return this.#awareness.clientID
  }

  getStates(): Map<number, Record<string, unknown>> {
    const states = new Map<number, Record<string, unknown>>()
    for (const [clientId, state] of this.#awareness.getStates()) {
      states.set(clientId, clientId === this.clientID ? state : presentState(state, this.#textName))
    }
    return states
  }

  getLocalState(): Record<string, unknown> | null {
    return this.#awareness.getLocalState()
  }

  setLocalStateField(field: string, value: unknown): void {
    this.#awareness.setLocalStateField(field, value)
  }

  on(event: 'change', listener: (...args: never[]) => void): void {
    this.#awareness.on(event, listener as never)
  }

  off(event: 'change', listener: (...args: never[]) => void): void {
    this.#awareness.off(event, listener as never)
  }
}
