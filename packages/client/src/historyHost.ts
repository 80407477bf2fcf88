/**
 * Owns what `@concord/client/history` plugs into on a client that speaks the
 * native protocol (types only, so the core carries none of history's code):
 * the shared connection requests go over, the wire whose history codec it
 * sets on first use, and its listener, which the client tells of every
 * answer, every lost connection and every closed document.
 */
import type { HistoryFrame, NativeFrame } from '@concord/protocol/core'
import type { NativeWire } from './wire.js'

export interface HistoryListener {
  receive(frame: Extract<HistoryFrame, { type: 'answer' | 'failed' }>): void
  connectionLost(): void
  documentClosed(doc: string): void
}

export interface HistoryHost {
  /** The subprotocol of the open socket; undefined when none is open. */
  readonly subprotocol: string | undefined
  send(frame: NativeFrame): boolean
  readonly wire: NativeWire
  listener: HistoryListener | undefined
}
