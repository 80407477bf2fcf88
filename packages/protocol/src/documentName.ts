/**
 * Owns what a valid document name is. Both wire modes carry the name (the URL
 * path in y-websocket mode, a string in every native frame); neither side may
 * act on a name this rejects.
 */

export const maxDocumentNameLength = 256

// C0 and C1 control characters, DEL, and lone surrogates (which `\p{Cs}`
// matches only when unpaired, because the `u` flag reads pairs as one code point).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const forbiddenCharacters = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u

/** Why `name` is not a valid document name, or undefined when it is valid. */
export const documentNameProblem = (name: string): string | undefined => {
  if (name.length === 0) return 'document name is empty'
  // Counted in code points, so a name of 256 emoji is as valid as one of 256 letters.
  let length = 0
  for (const _ of name) {
    if (++length > maxDocumentNameLength) {
      return `document name is longer than ${maxDocumentNameLength} characters`
    }
  }
  if (forbiddenCharacters.test(name)) return 'document name has control characters or lone surrogates'
  return undefined
}

export const isValidDocumentName = (name: string): boolean => documentNameProblem(name) === undefined
