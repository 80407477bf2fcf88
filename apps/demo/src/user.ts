/**
 * Owns who "you" are in the demo: a name and a color, kept in this browser,
 * in the shape y-codemirror.next reads from awareness (`user`).
 */
import { boundedName, isColor } from './presence.js'

export interface User {
  readonly name: string
  readonly color: string
  /** The color of this user's selection, seen by the others. */
  readonly colorLight: string
}

const storageKey = 'concord-demo:user'
const names = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Margaret', 'Donald', 'Frances', 'Ken', 'Radia']
const colors = ['#d62828', '#2a9d8f', '#7b2cbf', '#e76f51', '#1d4ed8', '#b5179e', '#2d6a4f', '#9c6644']

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T

const userOf = (name: string, color: string): User => ({ name, color, colorLight: `${color}33` })

/** The user stored in this browser, or a new one with a random name and color. */
export const loadUser = (): User => {
  try {
    const { name, color } = JSON.parse(localStorage.getItem(storageKey) ?? '{}') as { name?: unknown; color?: unknown }
    // Checked like anyone else's presence: this one is sent to everyone too.
    if (typeof name === 'string' && boundedName(name) && isColor(color)) return userOf(boundedName(name), color)
  } catch {
    // A broken entry gets a new user.
  }
  return saveUser(userOf(pick(names), pick(colors)))
}

/** The same user under a new name; a blank name keeps the old one. */
export const renamed = (user: User, name: string): User => userOf(boundedName(name) || user.name, user.color)

export const saveUser = (user: User): User => {
  localStorage.setItem(storageKey, JSON.stringify({ name: user.name, color: user.color }))
  return user
}
