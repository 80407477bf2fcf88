/**
 * Owns the cutting of a Redis reply stream into whole RESP frames (RESP2 and
 * RESP3), so the link proxy on a relay's Redis link can drop single pub/sub
 * messages and leave the stream well formed: the relay then sees a message
 * lost, not a broken connection.
 */

const crlf = (buffer: Buffer, from: number): number => {
  const at = buffer.indexOf('\r\n', from)
  return at
}

/** The offset just past the frame that starts at `offset`, or undefined when it is not all there yet. */
export const frameEnd = (buffer: Buffer, offset: number): number | undefined => {
  if (offset >= buffer.length) return undefined
  const lineEnd = crlf(buffer, offset)
  if (lineEnd < 0) return undefined
  const type = String.fromCharCode(buffer[offset]!)
  const count = Number(buffer.toString('latin1', offset + 1, lineEnd))
  const afterLine = lineEnd + 2
  switch (type) {
    case '$':
    case '!':
    case '=': {
      if (count < 0) return afterLine
      const end = afterLine + count + 2
      return end <= buffer.length ? end : undefined
    }
    case '*':
    case '>':
    case '~':
    case '%':
    case '|': {
      if (count < 0) return afterLine
      const elements = type === '%' || type === '|' ? count * 2 : count
      let at = afterLine
      for (let i = 0; i < elements; i++) {
        const next = frameEnd(buffer, at)
        if (next === undefined) return undefined
        at = next
      }
      return at
    }
    default:
      // +, -, :, _, ,, #, ( : one line.
      return afterLine
  }
}

/** A pub/sub `message` or `pmessage` push, as a subscriber receives it. */
export const isPubSubMessage = (frame: Buffer): boolean => {
  const head = frame.toString('latin1', 0, Math.min(frame.length, 24)).toLowerCase()
  return /^[*>][34]\r\n\$(7\r\nmessage|8\r\npmessage)\r\n/.test(head)
}

/** Cuts a stream into whole frames: push chunks in, take the frames that are complete. */
export class RespFramer {
  #buffer: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    const frames: Buffer[] = []
    let at = 0
    for (let end = frameEnd(this.#buffer, at); end !== undefined; end = frameEnd(this.#buffer, at)) {
      frames.push(this.#buffer.subarray(at, end))
      at = end
    }
    this.#buffer = this.#buffer.subarray(at)
    return frames
  }
}
