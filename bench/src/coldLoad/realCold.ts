/**
 * The realistic cold load (issue 20): the same editing session, a prefix of
 * the automerge-paper trace, typed through each library's normal path in
 * Chromium (sessionPage.ts): Concord's client connected to a real relay, its
 * IndexedDB store compacting as it does, and y-indexeddb trimming as it does.
 * Then cold opens in fresh pages, the two libraries taking turns (which one
 * goes first alternates), each until the document is usable: the handle's
 * `whenLoaded()`, y-indexeddb's `whenSynced`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ServerProcess } from '../serverProcess.js'
import { cpuProfiled, openBenchBrowser } from './benchBrowser.js'
import type { OpenTiming } from './coldOpen.js'
import type { Session, SessionPage, StoredShape } from './sessionPage.js'

export interface RealColdTask {
  readonly session: Session
  readonly expectedTextLength: number
  readonly repeats: number
  /** Write a Chromium CPU profile of each open here (`pnpm bench --cpu-prof`). */
  readonly cpuProfileDir?: string | undefined
}

export interface RealColdResult {
  readonly txns: number
  readonly session: Omit<Session, 'txns'>
  readonly concordMs: number[]
  readonly yIndexeddbMs: number[]
  /** Concord's time over y-indexeddb's, per pair of opens made one after the other. */
  readonly pairRatios: number[]
  readonly writeMs: { readonly concord: number; readonly yIndexeddb: number }
  readonly stored: {
    readonly concord: { readonly updates: StoredShape; readonly snapshot: StoredShape }
    readonly yIndexeddb: StoredShape
  }
}

const pageEntry = fileURLToPath(new URL('./sessionPage.js', import.meta.url))

export const runRealCold = async (task: RealColdTask, log: (line: string) => void): Promise<RealColdResult> => {
  const dataDir = await mkdtemp(join(tmpdir(), 'concord-bench-realcold-'))
  const relay = await ServerProcess.start('concord', { dataDir })
  const browser = await openBenchBrowser<SessionPage>(pageEntry, 'session')
  try {
    let startedAt = performance.now()
    await browser.inPage('writeConcord', { url: relay.url, session: task.session })
    const concordWrite = performance.now() - startedAt
    log(`realcold: Concord's session written in ${(concordWrite / 1000).toFixed(1)} s`)
    startedAt = performance.now()
    await browser.inPage('writeYIndexeddb', { session: task.session })
    const yIndexeddbWrite = performance.now() - startedAt
    log(`realcold: y-indexeddb's session written in ${(yIndexeddbWrite / 1000).toFixed(1)} s`)
    const stored = {
      concord: await browser.inPage('storedConcord'),
      yIndexeddb: await browser.inPage('storedYIndexeddb'),
    }
    const check = (what: string, timing: OpenTiming): number => {
      if (timing.textLength !== task.expectedTextLength) {
        throw new Error(`${what} opened ${timing.textLength} characters, expected ${task.expectedTextLength}`)
      }
      return timing.ms
    }
    const concordMs: number[] = []
    const yIndexeddbMs: number[] = []
    const pairRatios: number[] = []
    for (let i = 0; i < task.repeats; i++) {
      const profiled = (name: string) => cpuProfiled(task.cpuProfileDir, `realcold-${name}-${i + 1}`)
      const concord = async () => check('Concord', await browser.inPage('openConcord', undefined, profiled('concord')))
      const yIndexeddb = async () =>
        check('y-indexeddb', await browser.inPage('openYIndexeddb', undefined, profiled('y-indexeddb')))
      let c: number
      let y: number
      if (i % 2 === 0) {
        c = await concord()
        y = await yIndexeddb()
      } else {
        y = await yIndexeddb()
        c = await concord()
      }
      concordMs.push(c)
      yIndexeddbMs.push(y)
      pairRatios.push(c / y)
    }
    const { txns, ...shape } = task.session
    return {
      txns: txns.length,
      session: shape,
      concordMs,
      yIndexeddbMs,
      pairRatios,
      writeMs: { concord: concordWrite, yIndexeddb: yIndexeddbWrite },
      stored,
    }
  } finally {
    await browser.close()
    await relay.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}
