/**
 * Owns the Chromium side of the client scenarios: a page module bundled with
 * esbuild and served from 127.0.0.1, a persistent profile (IndexedDB on disk,
 * as for a user), and running one method of the page's API in a fresh page of
 * that profile, so that nothing of a previous step is in memory: a closed tab
 * and a reload.
 */
import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core'

const chromiumPath = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'

type PageApi = Record<string, (argument: never) => unknown>

export interface BenchBrowser<Api extends PageApi> {
  /**
   * Runs `api[method](argument)` in a fresh page and returns what it resolves
   * with. `onPage` sees the page before the call (to start a profiler) and
   * after it.
   */
  inPage<M extends keyof Api & string>(
    method: M,
    argument?: Parameters<Api[M]>[0],
    around?: {
      readonly before?: (page: Page, cdp: CDPSession) => Promise<void>
      readonly after?: (page: Page, cdp: CDPSession) => Promise<void>
    },
  ): Promise<Awaited<ReturnType<Api[M]>>>
  close(): Promise<void>
}

const serve = async (bundle: string): Promise<Server> => {
  const server = createServer((request, response) => {
    if (request.url === '/bundle.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle)
    } else {
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><meta charset="utf-8"><script type="module" src="/bundle.js"></script>')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** `entry`: the compiled page module, which sets `globalThis[global]` to its API. */
export const openBenchBrowser = async <Api extends PageApi>(
  entry: string,
  global: string,
): Promise<BenchBrowser<Api>> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  })
  const server = await serve(new TextDecoder().decode(result.outputFiles[0]!.contents))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const profile = await mkdtemp(join(tmpdir(), 'concord-bench-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  } catch (error) {
    server.close()
    await rm(profile, { recursive: true, force: true })
    throw error
  }
  return {
    async inPage(method, argument, around) {
      const page = await context.newPage()
      try {
        await page.goto(url)
        await page.waitForFunction((name) => name in globalThis, global)
        const cdp = around ? await context.newCDPSession(page) : undefined
        if (around?.before) await around.before(page, cdp!)
        const value = await page.evaluate(
          ([name, method, argument]) => {
            const api = (globalThis as unknown as Record<string, Record<string, (arg: unknown) => unknown>>)[name]!
            return api[method]!(argument)
          },
          [global, method, argument] as const,
        )
        if (around?.after) await around.after(page, cdp!)
        return value as never
      } finally {
        await page.close()
      }
    },
    async close() {
      await context.close()
      server.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/**
 * `inPage`'s `around` that records a CPU profile of the call with Chromium's
 * profiler (CDP, 50 µs sampling) into `dir/<name>.cpuprofile`, for Chrome's
 * DevTools or speedscope; undefined without `dir`.
 */
export const cpuProfiled = (dir: string | undefined, name: string) =>
  dir === undefined
    ? undefined
    : {
        before: async (_page: Page, cdp: CDPSession) => {
          await cdp.send('Profiler.enable')
          await cdp.send('Profiler.setSamplingInterval', { interval: 50 })
          await cdp.send('Profiler.start')
        },
        after: async (_page: Page, cdp: CDPSession) => {
          const { profile } = await cdp.send('Profiler.stop')
          await mkdir(dir, { recursive: true })
          await writeFile(join(dir, `${name}.cpuprofile`), JSON.stringify(profile))
        },
      }
