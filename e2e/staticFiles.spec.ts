/** The relay serves the built demo: right types, right caching, nothing outside the build. */
import { request as httpRequest } from 'node:http'
import { expect, test } from './fixtures.js'

interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
}

/** A GET with the path exactly as given: fetch and browsers would resolve `..` before sending it. */
const rawGet = (base: string, path: string): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base)
    const request = httpRequest({ hostname, port, path, method: 'GET' }, (response) => {
      response.resume()
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }))
    })
    request.on('error', reject)
    request.end()
  })

test('the demo is served with its types and caching, and nothing outside it', async ({ relay }) => {
  const page = await rawGet(relay.url, '/')
  expect(page.status).toBe(200)
  expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
  expect(page.headers['cache-control']).toBe('no-cache')
  const worker = await rawGet(relay.url, '/sw.js')
  expect(worker.headers['content-type']).toBe('text/javascript; charset=utf-8')
  expect(worker.headers['cache-control']).toBe('no-cache')

  const html = await (await fetch(relay.url)).text()
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
  const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1]
  expect(script && style).toBeTruthy()
  const scriptResponse = await rawGet(relay.url, script ?? '')
  expect(scriptResponse.headers['content-type']).toBe('text/javascript; charset=utf-8')
  expect(scriptResponse.headers['cache-control']).toBe('public, max-age=31536000, immutable')
  expect((await rawGet(relay.url, style ?? '')).headers['content-type']).toBe('text/css; charset=utf-8')

  for (const path of [
    '/../package.json',
    '/assets/../../package.json',
    '/..%2f..%2fpackage.json',
    '/%2e%2e/%2e%2e/package.json',
    '/assets/%2E%2E/%2E%2E/package.json',
    '/..%5c..%5cpackage.json',
    '/%00',
    '/%E0%A4%A',
    '/assets/',
    '/no-such-file.js',
    '/docs/some-document',
  ]) {
    expect((await rawGet(relay.url, path)).status, path).toBe(404)
  }
  expect((await rawGet(relay.url, '/healthz')).status).toBe(200)
})
