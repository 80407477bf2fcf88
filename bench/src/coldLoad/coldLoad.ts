/**
 * Scenario 6, client cold load in Chromium: both stores get the same
 * incremental updates from the editing trace, written straight into them
 * (page.ts); then each load runs in a fresh page of a persistent profile
 * (benchBrowser.ts), the two stores taking turns.
 */
import { fileURLToPath } from 'node:url'
import { openBenchBrowser } from './benchBrowser.js'
import type { OpenTiming } from './coldOpen.js'
import type { ColdLoadPage } from './page.js'

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

const pageEntry = fileURLToPath(new URL('./page.js', import.meta.url))

export const runColdLoad = async (task: ColdLoadTask): Promise<ColdLoadResult> => {
  const browser = await openBenchBrowser<ColdLoadPage>(pageEntry, 'coldLoad')
  try {
    const inPage = browser.inPage
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
    const check = (what: string, timing: OpenTiming): number => {
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
    await browser.close()
  }
}
