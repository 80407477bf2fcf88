/**
 * Owns the cap on what one connection keeps while the `authenticate` hook
 * has not answered: so many frames, so many bytes of them, and those bytes
 * also taken from the relay's QueuedBytes, which frames waiting for a
 * document to load count against too. A hook that hangs (or is slow under
 * load) then cannot grow the relay's memory through what clients send
 * meanwhile, whatever the size of their frames or the number of their
 * connections. Past a cap, the connection is closed with 4429.
 */
import { ProtocolError } from '@concord/protocol'
import type { QueuedBytes } from './queuedBytes.js'

export interface AuthWaitingCaps {
  readonly maxFrames: number
  readonly maxBytes: number
  /** The relay's count of bytes held in waiting frames. */
  readonly relay: QueuedBytes
}

export class AuthWaitingFrames {
  #frames = 0
  #bytes = 0

  constructor(private readonly caps: AuthWaitingCaps) {}

  get frames(): number {
    return this.#frames
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Counts one more waiting frame of `bytes`; past a cap, counts nothing and throws (rateLimited, 4429). */
  take(bytes: number): void {
    const { maxFrames, maxBytes, relay } = this.caps
    if (this.#frames >= maxFrames) {
      throw new ProtocolError('rateLimited', `more than ${maxFrames} frames wait for authorization`)
    }
    if (this.#bytes + bytes > maxBytes) {
      throw new ProtocolError('rateLimited', `more than ${maxBytes} bytes of frames wait for authorization`)
    }
    if (!relay.take(bytes)) {
      throw new ProtocolError('rateLimited', `more than ${relay.max} bytes of frames wait on this relay`)
    }
    this.#frames++
    this.#bytes += bytes
  }

  /** Frees `frames` waiting frames of `bytes` in all: they were delivered or dropped. */
  give(frames: number, bytes: number): void {
    this.#frames -= frames
    this.#bytes -= bytes
    this.caps.relay.give(bytes)
  }

  /** Frees every waiting frame: the connection is gone. */
  clear(): void {
    this.give(this.#frames, this.#bytes)
  }
}
