/**
 * Owns the y-protocols awareness update, decoded without an `Awareness`
 * instance so the relay can relay, remember and retract presence without a
 * Y.Doc. Layout: `varuint count · (varuint clientId · varuint clock ·
 * varString stateJson) × count`, as y-protocols/awareness writes it; a state
 * of `null` removes that client.
 */
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { decodeWhole, readSafeVarUint } from './strictDecoding.js'

export interface AwarenessEntry {
  readonly clientId: number
  readonly clock: number
  /** The state as JSON text, exactly as sent; `'null'` means the client left. */
  readonly state: string
}

export const encodeAwarenessUpdate = (entries: Iterable<AwarenessEntry>): Uint8Array => {
  const list = [...entries]
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, list.length)
  for (const { clientId, clock, state } of list) {
    encoding.writeVarUint(encoder, clientId)
    encoding.writeVarUint(encoder, clock)
    encoding.writeVarString(encoder, state)
  }
  return encoding.toUint8Array(encoder)
}

export const decodeAwarenessUpdate = (update: Uint8Array): AwarenessEntry[] =>
  decodeWhole(update, 'awareness update', (decoder) => {
    const count = readSafeVarUint(decoder, 'entry count')
    const entries: AwarenessEntry[] = []
    // Each entry takes at least three bytes, so `count` cannot make this loop outrun the input.
    for (let i = 0; i < count; i++) {
      entries.push({
        clientId: readSafeVarUint(decoder, 'client id'),
        clock: readSafeVarUint(decoder, 'clock'),
        state: decoding.readVarString(decoder),
      })
    }
    return entries
  })
