import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { documentNameProblem, isValidDocumentName, maxDocumentNameLength } from './documentName.js'

const empty = 'document name is empty'
const tooLong = 'document name is longer than 256 characters'
const forbidden = 'document name has control characters or lone surrogates'

/** An independent oracle: walks the code points by hand instead of using a regular expression. */
const expectedProblem = (name: string): string | undefined => {
  if (name === '') return empty
  const codePoints: number[] = []
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i)
    const next = name.charCodeAt(i + 1)
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      codePoints.push(0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00))
      i++
    } else {
      codePoints.push(unit)
    }
  }
  if (codePoints.length > 256) return tooLong
  const bad = (cp: number) => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)
  return codePoints.some(bad) ? forbidden : undefined
}

const controlCharacter = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((cp) => String.fromCharCode(cp))
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit))
/** Code points that are never forbidden: printable ASCII, Latin-1 letters, CJK, emoji. */
const allowedCodePoint = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0xa0, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
)
const validName = fc
  .array(allowedCodePoint, { minLength: 1, maxLength: 256 })
  .map((cps) => String.fromCodePoint(...cps))
const anyUtf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)),
  maxLength: 300,
})

describe('documentNameProblem', () => {
  it('allows names of up to 256 code points', () => {
    expect(maxDocumentNameLength).toBe(256)
  })

  it.each([
    ['a single letter', 'a'],
    ['a path-like name', 'notes/2024-01-01'],
    ['spaces and punctuation', 'team notes: Q1 (draft) #3'],
    ['256 ASCII letters', 'a'.repeat(256)],
    ['256 emoji, 512 UTF-16 units', '😀'.repeat(256)],
    ['255 letters and an emoji', 'a'.repeat(255) + '🦄'],
    ['a combining accent', 'e\u0301'],
    ['a no-break space, the first code point after C1', '\u00a0'],
    ['a surrogate pair on its own', '\ud83d\ude00'],
  ])('accepts %s', (_, name) => {
    expect(documentNameProblem(name)).toBeUndefined()
    expect(isValidDocumentName(name)).toBe(true)
  })

  it.each([
    ['the empty name', '', empty],
    ['257 ASCII letters', 'a'.repeat(257), tooLong],
    ['257 emoji', '😀'.repeat(257), tooLong],
    ['256 letters and an emoji', 'a'.repeat(256) + '😀', tooLong],
    ['NUL', 'a\u0000b', forbidden],
    ['U+001F', '\u001f', forbidden],
    ['DEL', 'doc\u007f', forbidden],
    ['U+0080, the first C1 control', '\u0080', forbidden],
    ['NEL (U+0085)', 'x\u0085y', forbidden],
    ['U+009F, the last C1 control', '\u009f', forbidden],
    ['a newline', 'line\nbreak', forbidden],
    ['a lone high surrogate', 'a\ud800', forbidden],
    ['a lone low surrogate', '\udc00a', forbidden],
    ['a surrogate pair in the wrong order', '\ude00\ud83d', forbidden],
    ['half of an emoji', '😀'.slice(0, 1), forbidden],
  ])('rejects %s', (_, name, problem) => {
    expect(documentNameProblem(name)).toBe(problem)
    expect(isValidDocumentName(name)).toBe(false)
  })

  it('accepts every name of 1-256 allowed code points', () => {
    fc.assert(
      fc.property(validName, (name) => {
        expect(documentNameProblem(name)).toBeUndefined()
      }),
    )
  })

  it('rejects a valid name with a control character or lone surrogate inserted anywhere', () => {
    fc.assert(
      fc.property(validName, fc.oneof(controlCharacter, loneSurrogate), fc.nat(), (name, bad, at) => {
        const codePoints = [...name]
        codePoints.splice(at % (codePoints.length + 1), 0, bad)
        expect(documentNameProblem(codePoints.join(''))).toBe(codePoints.length > 256 ? tooLong : forbidden)
      }),
    )
  })

  it('rejects names longer than 256 code points, however short in UTF-16', () => {
    fc.assert(
      fc.property(fc.array(allowedCodePoint, { minLength: 257, maxLength: 400 }), (codePoints) => {
        expect(documentNameProblem(String.fromCodePoint(...codePoints))).toBe(tooLong)
      }),
      { numRuns: 50 },
    )
  })

  it('agrees with a hand-written oracle on arbitrary UTF-16, and isValidDocumentName agrees with it', () => {
    fc.assert(
      fc.property(fc.oneof(anyUtf16, fc.string({ unit: 'binary', maxLength: 300 }), validName), (name) => {
        const problem = documentNameProblem(name)
        expect(problem).toBe(expectedProblem(name))
        expect(isValidDocumentName(name)).toBe(problem === undefined)
      }),
      { numRuns: 500 },
    )
  })
})
