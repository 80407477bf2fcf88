/**
 * Owns the y-protocols sync message: `varuint syncType · varUint8Array payload`,
 * byte for byte as y-protocols/sync writes it. Both wire modes carry it, so
 * this is the only place that reads or writes one. Pure: no Y.Doc needed.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { readBoundedVarUint } from './strictDecoding.js'

export const syncMessageType = {
  /** Payload: the sender's state vector; the receiver answers with step 2. */
  step1: 0,
  /** Payload: the update the receiver lacks, computed from its step-1 state vector. */
  step2: 1,
  /** Payload: an incremental update. */
  update: 2,
} as const

export type SyncMessage =
  | { readonly type: 'step1'; readonly stateVector: Uint8Array }
  | { readonly type: 'step2'; readonly update: Uint8Array }
  | { readonly type: 'update'; readonly update: Uint8Array }

const typeNames = ['step1', 'step2', 'update'] as const

export const writeSyncMessage = (encoder: encoding.Encoder, message: SyncMessage): void => {
  encoding.writeVarUint(encoder, syncMessageType[message.type])
  encoding.writeVarUint8Array(encoder, message.type === 'step1' ? message.stateVector : message.update)
}

export const readSyncMessage = (decoder: decoding.Decoder): SyncMessage => {
  const type = typeNames[readBoundedVarUint(decoder, typeNames.length - 1, 'sync message type')]!
  const payload = decoding.readVarUint8Array(decoder)
  return type === 'step1' ? { type, stateVector: payload } : { type, update: payload }
}
