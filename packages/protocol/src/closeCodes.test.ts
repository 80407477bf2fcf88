import { describe, expect, it } from 'vitest'
import { closeCodeName, closeCodes, type CloseCodeName } from './closeCodes.js'
import { ProtocolError } from './errors.js'

const names = Object.keys(closeCodes) as CloseCodeName[]

describe('closeCodes', () => {
  it('are the numbers both sides agree on', () => {
    // The wire contract: renumbering any of these breaks deployed clients.
    expect(closeCodes).toEqual({
      normal: 1000,
      goingAway: 1001,
      protocolError: 1002,
      unsupportedData: 1003,
      invalidPayload: 1007,
      messageTooBig: 1009,
      internalError: 1011,
      malformedMessage: 4400,
      unauthenticated: 4401,
      forbidden: 4403,
      documentDeleted: 4404,
      invalidDocumentName: 4410,
      invalidUpdate: 4422,
      rateLimited: 4429,
      notImplemented: 4501,
      documentUnavailable: 4503,
      slowReader: 4508,
    })
  })

  it('are unique', () => {
    const codes = Object.values(closeCodes)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it.each(names)('%s is in RFC 6455 range 1000-1015 or the private range 4000-4999', (name) => {
    const code = closeCodes[name]
    expect(Number.isInteger(code)).toBe(true)
    expect((code >= 1000 && code <= 1015) || (code >= 4000 && code <= 4999)).toBe(true)
  })

  it('never use the codes an endpoint must not send in a close frame (1004, 1005, 1006, 1015)', () => {
    for (const reserved of [1004, 1005, 1006, 1015]) expect(Object.values(closeCodes)).not.toContain(reserved)
  })

  it.each(names)('closeCodeName(closeCodes.%s) is its name', (name) => {
    expect(closeCodeName(closeCodes[name])).toBe(name)
  })

  it.each([0, 999, 1004, 1005, 1006, 1015, 3000, 4000, 4405, 4999, 5000, -1, 4400.5, Number.NaN])(
    'closeCodeName(%s) is undefined',
    (code) => {
      expect(closeCodeName(code)).toBeUndefined()
    },
  )
})

describe('ProtocolError', () => {
  it('is an Error named ProtocolError carrying a close code name and a cause', () => {
    const cause = new RangeError('inner')
    const error = new ProtocolError('invalidDocumentName', 'bad name', { cause })
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe('ProtocolError')
    expect(error.code).toBe('invalidDocumentName')
    expect(closeCodes[error.code]).toBe(4410)
    expect(error.message).toBe('bad name')
    expect(error.cause).toBe(cause)
  })
})
