/**
 * The document HTTP API of the service, as a backend calls it with curl or
 * fetch: JWTs with the same rights as WebSocket clients, and a service key.
 */
import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ConfigError, parseConfig } from './config.js'
import { describeConfig } from './configSummary.js'
import { startTestService, type TestService } from './test/serviceHarness.js'

const secret = 'a test secret that is long enough for HS256'
const apiKey = 'service-key-0123456789-0123456789-abc'
let running: TestService | undefined

afterEach(async () => {
  await running?.stop()
  running = undefined
})

const tokenFor = (docs: Record<string, string>) =>
  new SignJWT({ docs })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ada')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret))

const update = (text: string): Uint8Array<ArrayBuffer> => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  return new Uint8Array(Y.encodeStateAsUpdate(doc))
}

describe('the service HTTP API (/v1)', () => {
  it('takes JWTs with their document rights and the service key, and never logs the key', async () => {
    running = await startTestService(['--jwt-secret', secret, '--api-key', apiKey])
    const url = `${running.http}/v1/docs/${encodeURIComponent('notes/ada')}`
    const writer = { authorization: `Bearer ${await tokenFor({ 'notes/*': 'write' })}` }
    const reader = { authorization: `Bearer ${await tokenFor({ 'notes/ada': 'read' })}` }

    expect((await fetch(url)).status).toBe(401)
    expect((await fetch(`${url}/updates`, { method: 'POST', body: update('x'), headers: reader })).status).toBe(403)
    expect((await fetch(`${url}/updates`, { method: 'POST', body: update('hello'), headers: writer })).status).toBe(200)
    const json = await fetch(`${url}?format=json&types=body:text`, { headers: { authorization: `Bearer ${apiKey}` } })
    expect(await json.json()).toEqual({ body: 'hello' })
    expect((await fetch(`${url}/state-vector`, { headers: reader })).status).toBe(200)

    expect(running.logLines.join('\n')).not.toContain(apiKey)
    expect(describeConfig(parseConfig(['--api-key', apiKey], {}, '/')!)).toMatchObject({ apiKey: '***' })
    // The API leaves the service's own routes alone.
    expect((await fetch(`${running.http}/healthz`)).status).toBe(200)
  })

  it('refuses a service key that is short or has spaces', () => {
    expect(() => parseConfig(['--api-key', 'short'], {}, '/')).toThrow(ConfigError)
    expect(() => parseConfig([], { CONCORD_API_KEY: `${'x'.repeat(20)} ${'y'.repeat(20)}` }, '/')).toThrow(
      '--api-key must be at least 32 printable characters without spaces',
    )
  })
})
