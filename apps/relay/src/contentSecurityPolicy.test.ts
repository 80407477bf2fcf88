/**
 * The service serves its static files with a Content-Security-Policy that lets
 * pages load and connect to their own origin (which is their relay) only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { contentSecurityPolicy } from './service.js'
import { startTestService, type TestService } from './test/serviceHarness.js'

let running: TestService | undefined
let staticDir: string | undefined

afterEach(async () => {
  await running?.stop()
  running = undefined
  if (staticDir) await rm(staticDir, { recursive: true, force: true })
  staticDir = undefined
})

describe('served files', () => {
  it('carry a Content-Security-Policy: own origin only, no inline script, no framing', async () => {
    staticDir = await mkdtemp(join(tmpdir(), 'concord-static-'))
    await mkdir(join(staticDir, 'assets'))
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>x</title>')
    await writeFile(join(staticDir, 'sw.js'), '')
    await writeFile(join(staticDir, 'assets', 'index-abc.js'), '')
    running = await startTestService([], { staticDir })
    for (const path of ['/', '/sw.js', '/assets/index-abc.js']) {
      const response = await fetch(`${running.http}${path}`)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-security-policy'), path).toBe(contentSecurityPolicy)
    }
    const directives = new Map(
      contentSecurityPolicy.split('; ').map((directive) => {
        const [name, ...sources] = directive.split(' ')
        return [name!, sources]
      }),
    )
    for (const name of ['default-src', 'script-src', 'connect-src', 'worker-src', 'font-src']) {
      expect(directives.get(name), name).toEqual(["'self'"])
    }
    // data: for the page's empty favicon; never another origin.
    expect(directives.get('img-src')).toEqual(["'self'", 'data:'])
    expect(directives.get('object-src')).toEqual(["'none'"])
    expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    expect(directives.get('base-uri')).toEqual(["'none'"])
  })
})
