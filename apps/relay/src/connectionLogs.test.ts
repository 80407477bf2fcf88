import { closeCodes } from '@concord/protocol'
import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { NativeTestClient, waitFor } from '@concord/relay/testing'
import { startTestService, type TestService } from './test/serviceHarness.js'

const secret = 'a secret of at least thirty-two characters, for logs'
let running: TestService | undefined

afterEach(async () => {
  await running?.stop()
  running = undefined
})

const sign = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ada')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret))

/** Opens a y-websocket connection and resolves with its close code once it is closed (by either side). */
const yWebsocketSession = async (url: string, closeWhenOpen: boolean): Promise<number> => {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  ws.once('open', () => closeWhenOpen && setTimeout(() => ws.close(closeCodes.normal, 'bye'), 50))
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

const lines = (logs: Array<Record<string, unknown>>, msg: string) => logs.filter((line) => line.msg === msg)

describe('connection logs', () => {
  it('write one line per open and per close, with who, what, code, reason, duration and bytes, never a token', async () => {
    running = await startTestService(['--jwt-secret', secret])
    const { service } = running
    const token = await sign({ docs: { 'team/*': 'write' } })
    const badToken = 'not.a-valid.token-but-still-a-secret-of-someone'

    // y-websocket with the token in the URL: served, then closed by the client.
    expect(await yWebsocketSession(`${service.url}/team/plan?token=${token}`, true)).toBe(closeCodes.normal)
    // y-websocket with a bad token in the URL: refused.
    expect(await yWebsocketSession(`${service.url}/team/plan?token=${badToken}`, false)).toBe(
      closeCodes.unauthenticated,
    )
    // Native with an auth frame: writes, then closes.
    const native = await NativeTestClient.connect(service.url)
    native.send({ type: 'auth', doc: '', token })
    const { doc } = native.open('team/notes')
    await native.whenSynced('team/notes')
    doc.getText('t').insert(0, 'hello')
    await native.whenAcked('team/notes')
    native.close()
    await native.whenClosed()

    await waitFor(() => lines(running!.logs(), 'connection closed').length === 3, 'three close lines')
    const logs = running.logs()
    for (const line of running.logLines) {
      expect(line).not.toContain(token)
      expect(line).not.toContain(token.split('.')[2]!)
      expect(line).not.toContain(badToken)
      expect(line).not.toContain(secret)
      expect(line).not.toContain('token=')
    }

    const opens = lines(logs, 'connection opened')
    expect(opens).toHaveLength(3)
    expect(opens.map((line) => [line.mode, line.doc])).toEqual([
      ['y-websocket', 'team/plan'],
      ['y-websocket', 'team/plan'],
      ['native', undefined],
    ])
    for (const open of opens) {
      expect(open).toMatchObject({ level: 30, ip: '127.0.0.1' })
      expect(typeof open.conn).toBe('number')
    }

    const closes = lines(logs, 'connection closed')
    const closeOf = (conn: unknown) => closes.find((line) => line.conn === conn)!
    expect(closeOf(opens[0]!.conn)).toMatchObject({
      level: 30,
      mode: 'y-websocket',
      doc: 'team/plan',
      code: closeCodes.normal,
      codeName: 'normal',
      reason: 'bye',
      by: 'client',
      ip: '127.0.0.1',
    })
    expect(closeOf(opens[1]!.conn)).toMatchObject({
      level: 40,
      mode: 'y-websocket',
      code: closeCodes.unauthenticated,
      codeName: 'unauthenticated',
      by: 'relay',
    })
    expect(typeof closeOf(opens[1]!.conn).reason).toBe('string')
    const nativeClose = closeOf(opens[2]!.conn)
    expect(nativeClose).toMatchObject({
      level: 30,
      mode: 'native',
      code: closeCodes.normal,
      by: 'client',
      docs: ['team/notes'],
      docsOpened: 1,
    })
    for (const close of closes) {
      expect(close.durationMs).toBeGreaterThanOrEqual(0)
      for (const field of ['messagesIn', 'bytesIn', 'messagesOut', 'bytesOut']) {
        expect(typeof close[field], field).toBe('number')
      }
    }
    // auth, open, step 1, step 2, the update; and at least the relay's step 1, step 2 and an ack back.
    expect(nativeClose.messagesIn).toBe(5)
    expect(nativeClose.messagesOut).toBeGreaterThanOrEqual(3)
    expect(nativeClose.bytesIn).toBeGreaterThan(token.length)
  })
})
