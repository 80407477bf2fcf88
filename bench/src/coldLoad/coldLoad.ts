/**
 * Scenario 5, client cold load in Chromium: the page (page.ts) is bundled
 * with esbuild and served from 127.0.0.1; both stores get the same
 * incremental updates from the editing trace; then each load runs in a fresh
 * page of a persistent profile (IndexedDB on disk, as for a user), the two
 * stores taking turns.
 */
import { createServer, type Server } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium, type BrowserContext } from 'playwright-core'
import type { ColdLoadPage, LoadTiming } from './page.js'

export interface ColdLoadTask {
  readonly updates: readonly Uint8Array[]
  readonly expectedTextLength: number
  readonly repeats: number
}

export interface ColdLoadResult {
  readonly updates: number
  readonly concordMs: number[]
  /** Opening Concord's store and reading the records alone, without applying them. */
  readonly concordReadMs: number[]
  readonly yIndexeddbMs: number[]
  readonly fillMs: { readonly concord: number; readonly yIndexeddb: number }
}

const chromiumPath = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'
const here = fileURLToPath(new URL('.', import.meta.url))

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

export const runColdLoad = async (task: ColdLoadTask): Promise<ColdLoadResult> => {
  const outfile = join(here, 'bundle.js')
  await build({
    entryPoints: [join(here, 'page.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    logLevel: 'warning',
  })
  const server = await serve(await readFile(outfile, 'utf8'))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const profile = await mkdtemp(join(tmpdir(), 'concord-bench-chromium-'))
  let context: BrowserContext | undefined
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    /** Runs one method of the page's `coldLoad` in a fresh page: nothing of the previous load is in memory. */
    const inPage = async <M extends keyof ColdLoadPage>(method: M, ...args: Parameters<ColdLoadPage[M]>) => {
      const page = await context!.newPage()
      try {
        await page.goto(url)
        await page.waitForFunction(() => 'coldLoad' in globalThis)
        return (await page.evaluate(
          ([name, argument]) => {
            const coldLoad = (globalThis as unknown as { coldLoad: Record<string, (arg: unknown) => unknown> }).coldLoad
            return coldLoad[name]!(argument)
          },
          [method, args[0]] as const,
        )) as Awaited<ReturnType<ColdLoadPage[M]>>
      } finally {
        await page.close()
      }
    }
    const encoded = task.updates.map((update) => Buffer.from(update).toString('base64'))
    let startedAt = performance.now()
    await inPage('fillConcord', encoded)
    const concordFill = performance.now() - startedAt
    startedAt = performance.now()
    await inPage('fillYIndexeddb', encoded)
    const yIndexeddbFill = performance.now() - startedAt

    const concordMs: number[] = []
    const concordReadMs: number[] = []
    const yIndexeddbMs: number[] = []
    const check = (what: string, timing: LoadTiming): number => {
      if (timing.textLength !== task.expectedTextLength) {
        throw new Error(`${what} loaded ${timing.textLength} characters, expected ${task.expectedTextLength}`)
      }
      return timing.ms
    }
    for (let i = 0; i < task.repeats; i++) {
      concordMs.push(check('Concord', await inPage('loadConcord')))
      yIndexeddbMs.push(check('y-indexeddb', await inPage('loadYIndexeddb')))
      concordReadMs.push((await inPage('readConcord')).ms)
    }
    return {
      updates: task.updates.length,
      concordMs,
      concordReadMs,
      yIndexeddbMs,
      fillMs: { concord: concordFill, yIndexeddb: yIndexeddbFill },
    }
  } finally {
    await context?.close()
    server.close()
    await rm(profile, { recursive: true, force: true })
    await rm(outfile, { force: true })
  }
}
