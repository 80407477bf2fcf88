import { describe, expect, it } from 'vitest'
import { frameEnd, isPubSubMessage, RespFramer } from './respFrames.js'

const message = (channel: string, payload: string) =>
  `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${payload.length}\r\n${payload}\r\n`

describe('RespFramer', () => {
  it('cuts a reply stream split anywhere into whole frames', () => {
    const stream = Buffer.from(
      `+OK\r\n:12\r\n${message('doc', 'hello\r\nworld')}$-1\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$0\r\n\r\n`,
    )
    for (let cut = 1; cut < stream.length; cut++) {
      const framer = new RespFramer()
      const frames = [...framer.push(stream.subarray(0, cut)), ...framer.push(stream.subarray(cut))]
      expect(frames.map((frame) => frame.toString())).toEqual([
        '+OK\r\n',
        ':12\r\n',
        message('doc', 'hello\r\nworld'),
        '$-1\r\n',
        '>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$0\r\n\r\n',
      ])
    }
  })

  it('waits for the rest of an incomplete frame', () => {
    expect(frameEnd(Buffer.from('$5\r\nabc'), 0)).toBeUndefined()
    expect(frameEnd(Buffer.from('*2\r\n$1\r\na\r\n'), 0)).toBeUndefined()
  })

  it('tells pub/sub messages from other replies', () => {
    expect(isPubSubMessage(Buffer.from(message('c', 'x')))).toBe(true)
    expect(isPubSubMessage(Buffer.from('*4\r\n$8\r\npmessage\r\n$1\r\np\r\n$1\r\nc\r\n$1\r\nx\r\n'))).toBe(true)
    expect(isPubSubMessage(Buffer.from('*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n'))).toBe(false)
    expect(isPubSubMessage(Buffer.from('+PONG\r\n'))).toBe(false)
  })
})
