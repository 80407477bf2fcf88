/**
 * The entry point `@concord/protocol/core`: the native codec (without the
 * history frames' codec, `historyFrameCodec`, which it takes as an argument),
 * the messages both modes carry, and the numbers both sides share; not the
 * y-websocket codec nor the history frames'. It is what `@concord/client`
 * imports up front, so that a bundler can leave those two codecs to the
 * chunks that load on first use: esbuild splits by file, and a file the
 * page's own code reaches (as it reaches every file through the full entry
 * `@concord/protocol`) lands up front, used there or not.
 */
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
export type { VersionRequest, VersionRootKind, WireVersion } from './versionFrames.js'
export { readSyncMessage, syncMessageType, writeSyncMessage, type SyncMessage } from './sync.js'
export { decodeAwarenessUpdate, encodeAwarenessUpdate, type AwarenessEntry } from './awareness.js'
export { closeCodes, closeCodeName, type CloseCode, type CloseCodeName } from './closeCodes.js'
export { documentNameProblem, isValidDocumentName, maxDocumentNameLength } from './documentName.js'
export { ProtocolError } from './errors.js'
