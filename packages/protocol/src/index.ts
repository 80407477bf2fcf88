/**
 * The entry point `@concord/protocol`: both wire modes as pure encoders and
 * decoders, the messages they share, the strict decoding blocks every decoder
 * is built from, and the numbers both sides agree on.
 */
// The y-websocket mode, and the native mode (the subprotocol `concord.v2`).
export {
  decodeYWebsocketMessage,
  encodeYWebsocketMessage,
  yWebsocketMessageType,
  type YWebsocketMessage,
} from './yWebsocket.js'
export {
  decodeNativeFrameWith,
  encodeNativeFrameWith,
  frameType,
  isNativeSubprotocol,
  nativeSubprotocol,
  nativeSubprotocols,
  nativeSubprotocolV3,
  type HistoryFrame,
  type HistoryFrameCodec,
  type NativeFrame,
  type NativeSubprotocol,
} from './native.js'
// The version-history requests and answers of `concord.v3`; the native codec with them.
export { decodeNativeFrame, encodeNativeFrame, historyFrameCodec } from './historyFrames.js'
export {
  versionOperation,
  versionRootKinds,
  type VersionRequest,
  type VersionRootKind,
  type WireVersion,
} from './versionFrames.js'
// What both modes carry.
export { readSyncMessage, syncMessageType, writeSyncMessage, type SyncMessage } from './sync.js'
export { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from './awareness.js'
// For other decoders built on lib0, to be as strict as these.
export { decodeWhole, readBoundedVarUint, readSafeVarUint } from './strictDecoding.js'
// The numbers and rules both sides share.
export { closeCodes, closeCodeName, type CloseCode, type CloseCodeName } from './closeCodes.js'
export { documentNameProblem, isValidDocumentName, maxDocumentNameLength } from './documentName.js'
export { ProtocolError } from './errors.js'
