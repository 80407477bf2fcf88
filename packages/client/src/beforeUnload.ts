/**
 * Owns the opt-in warning before a page unloads with edits not yet safe: not
 * stored on this device, or not yet durable on the relay.
 */

/** Where `beforeunload` comes from: `window` in a browser. */
export interface BeforeUnloadTarget {
  addEventListener(type: 'beforeunload', listener: (event: BeforeUnloadEventLike) => void): void
  removeEventListener(type: 'beforeunload', listener: (event: BeforeUnloadEventLike) => void): void
}

export interface BeforeUnloadEventLike {
  preventDefault(): void
  returnValue?: unknown
}

/**
 * Asks the browser to warn ("Leave site? Changes you made may not be saved")
 * before the page unloads while `client` has edits not yet stored on this
 * device or not yet durable on the relay. Opt-in, like y-sweet's
 * `warnOnClose`; returns the function that stops it. Does nothing where there
 * is no `window`.
 */
export const warnBeforeUnload = (
  client: { readonly hasUnsyncedEdits: boolean },
  target: BeforeUnloadTarget | undefined = defaultBeforeUnloadTarget(),
): (() => void) => {
  if (!target) return () => {}
  const listener = (event: BeforeUnloadEventLike): void => {
    if (!client.hasUnsyncedEdits) return
    event.preventDefault()
    try {
      // Older browsers show the prompt only when returnValue is set.
      event.returnValue = ''
    } catch {
      // Not settable on this event (a plain Event outside browsers): preventDefault is enough.
    }
  }
  target.addEventListener('beforeunload', listener)
  return () => target.removeEventListener('beforeunload', listener)
}

const defaultBeforeUnloadTarget = (): BeforeUnloadTarget | undefined => {
  const scope = globalThis as Partial<BeforeUnloadTarget>
  return typeof scope.addEventListener === 'function' ? (scope as BeforeUnloadTarget) : undefined
}
