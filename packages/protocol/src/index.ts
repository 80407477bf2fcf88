/**
 * The entry point `@concord/protocol`: both wire modes as pure encoders and
 * decoders, the messages they share, the strict decoding blocks every decoder
 * is built from, and the numbers both sides agree on. What the client needs up
 * front is `@concord/protocol/core` (core.ts); this entry adds the rest.
 */
export * from './core.js'
// The y-websocket mode.
export {
  decodeYWebsocketMessage,
  encodeYWebsocketMessage,
  yWebsocketMessageType,
  type YWebsocketMessage,
} from './yWebsocket.js'
// The version-history requests and answers of `concord.v3`; the native codec with them.
export { decodeNativeFrame, encodeNativeFrame, historyFrameCodec } from './historyFrames.js'
export { versionOperation, versionRootKinds } from './versionFrames.js'
// For other decoders built on lib0, to be as strict as these.
export { decodeWhole, readBoundedVarUint, readSafeVarUint } from './strictDecoding.js'
