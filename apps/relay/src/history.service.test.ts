/**
 * The service's history flags reach the relay: with history on (the default) a named version is
 * saved over HTTP, with --no-history it is refused (HTTP 501).
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { startTestService, type TestService } from './test/serviceHarness.js'

const apiKey = 'service-key-0123456789-0123456789-abc'
let running: TestService | undefined

afterEach(async () => {
  await running?.stop()
  running = undefined
})

const update = (text: string): Uint8Array<ArrayBuffer> => {
  const doc = new Y.Doc()
  doc.getText('body').insert(0, text)
  return new Uint8Array(Y.encodeStateAsUpdate(doc))
}

/** Writes to `notes` and asks for a named version; the version request's response. */
const saveVersion = async (service: TestService): Promise<Response> => {
  const url = `${service.http}/v1/docs/notes`
  const headers = { authorization: `Bearer ${apiKey}` }
  expect((await fetch(`${url}/updates`, { method: 'POST', body: update('hello'), headers })).status).toBe(200)
  return fetch(`${url}/versions`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'v1' }),
  })
}

describe('the service history flags', () => {
  it('keep history by default, and none with --no-history', async () => {
    running = await startTestService(['--api-key', apiKey, '--history-retention', '2h:10m,7d:1d'])
    const saved = await saveVersion(running)
    expect(saved.status).toBe(201)
    expect(await saved.json()).toMatchObject({ label: 'v1' })
    await running.stop()
    running = await startTestService(['--api-key', apiKey, '--no-history'])
    // The HTTP API answers a relay without history with 501.
    expect((await saveVersion(running)).status).toBe(501)
  })
})
