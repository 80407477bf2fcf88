/**
 * Owns who "you" are in the notes app (a name and a colour, kept in this
 * browser) and the check every other user's presence passes before it is
 * shown: a name is a string of at most 40 characters without control
 * characters, a colour is `#rrggbb` and nothing else (it goes into CSS).
 */
export interface User {
  readonly name: string
  readonly color: string
}

export const maxNameLength = 40
const storageKey = 'concord-notes-react:user'
const names = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Margaret', 'Donald', 'Frances', 'Ken', 'Radia']
const colors = ['#d62828', '#2a9d8f', '#7b2cbf', '#e76f51', '#1d4ed8', '#b5179e', '#2d6a4f', '#9c6644']
const colorPattern = /^#[0-9a-f]{6}$/i
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** A name fit to show: control and bidi-override characters removed, trimmed, bounded; undefined if empty. */
export const cleanName = (name: unknown): string | undefined => {
  if (typeof name !== 'string') return undefined
  const cleaned = [
    ...name
      .slice(0, maxNameLength * 4)
      .replace(controlCharacters, '')
      .trim(),
  ]
    .slice(0, maxNameLength)
    .join('')
  return cleaned || undefined
}

export const isColor = (color: unknown): color is string => typeof color === 'string' && colorPattern.test(color)

/** Another client's `user` presence field, or undefined when it is not a user this app can show. */
export const parseUser = (user: unknown): User | undefined => {
  if (typeof user !== 'object' || user === null) return undefined
  const { name, color } = user as { name?: unknown; color?: unknown }
  const cleaned = cleanName(name)
  return cleaned !== undefined && isColor(color) ? { name: cleaned, color } : undefined
}

/** A whole presence state: the user in its `user` field. */
export const parsePresence = (state: Record<string, unknown>): User | undefined => parseUser(state.user)

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

/** The user stored in this browser, or a new one with a random name and colour. */
export const loadUser = (): User => {
  try {
    const stored = parseUser(JSON.parse(localStorage.getItem(storageKey) ?? 'null'))
    if (stored) return stored
  } catch {
    // A broken entry gets a new user.
  }
  return saveUser({ name: pick(names), color: pick(colors) })
}

export const saveUser = (user: User): User => {
  localStorage.setItem(storageKey, JSON.stringify(user))
  return user
}

/** The same user under a new name; a blank name keeps the old one. */
export const renamed = (user: User, name: string): User => ({ name: cleanName(name) ?? user.name, color: user.color })
