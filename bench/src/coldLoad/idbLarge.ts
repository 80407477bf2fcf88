/**
 * The large document from IndexedDB (issue 20): the automerge-paper
 * document's final state, stored as the client's compaction stores it (one
 * snapshot), opened by the client in a fresh page until `whenLoaded()`,
 * against a bare `Y.applyUpdate(new Y.Doc(), snapshot)` of the same bytes in
 * the same page: the floor, with nothing read from anywhere. Which of the two
 * goes first alternates from page to page.
 */
import { fileURLToPath } from 'node:url'
import { cpuProfiled, openBenchBrowser } from './benchBrowser.js'
import type { SessionPage } from './sessionPage.js'

export interface IdbLargeTask {
  readonly snapshot: Uint8Array
  readonly expectedTextLength: number
  readonly repeats: number
  /** Write a Chromium CPU profile of each page's opens here (`pnpm bench --cpu-prof`). */
  readonly cpuProfileDir?: string | undefined
}

export interface IdbLargeResult {
  readonly snapshotBytes: number
  readonly concordMs: number[]
  readonly bareMs: number[]
  /** Concord's time over the bare apply's, in each page. */
  readonly pageRatios: number[]
}

const pageEntry = fileURLToPath(new URL('./sessionPage.js', import.meta.url))

export const runIdbLarge = async (task: IdbLargeTask): Promise<IdbLargeResult> => {
  const browser = await openBenchBrowser<SessionPage>(pageEntry, 'session')
  try {
    const snapshot = Buffer.from(task.snapshot).toString('base64')
    await browser.inPage('storeLarge', snapshot)
    const concordMs: number[] = []
    const bareMs: number[] = []
    const pageRatios: number[] = []
    for (let i = 0; i < task.repeats; i++) {
      const { concord, bare } = await browser.inPage(
        'openLarge',
        { snapshot, concordFirst: i % 2 === 0 },
        cpuProfiled(task.cpuProfileDir, `idblarge-${i + 1}`),
      )
      for (const [what, timing] of [
        ['Concord', concord],
        ['the bare apply', bare],
      ] as const) {
        if (timing.textLength !== task.expectedTextLength) {
          throw new Error(`${what} gave ${timing.textLength} characters, expected ${task.expectedTextLength}`)
        }
      }
      concordMs.push(concord.ms)
      bareMs.push(bare.ms)
      pageRatios.push(concord.ms / bare.ms)
    }
    return { snapshotBytes: task.snapshot.length, concordMs, bareMs, pageRatios }
  } finally {
    await browser.close()
  }
}
