/**
 * Owns one rule of the demo's views: a function that runs inside a Yjs
 * observer never throws. An exception there escapes into the client's
 * `Y.applyUpdate` and would stop this document syncing; the content that
 * caused it would stay in the document for every visitor. The views check
 * what they read, so this is the last guard: the error is logged and the
 * view stays as it was.
 */
export const neverThrowing =
  <Args extends unknown[]>(what: string, view: (...args: Args) => void) =>
  (...args: Args): void => {
    try {
      view(...args)
    } catch (error) {
      console.error(`the page could not show ${what}:`, error)
    }
  }
