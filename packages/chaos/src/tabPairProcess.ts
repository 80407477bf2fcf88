/**
 * Owns a cross-tab pair as one replica process (`--lifecycles`): two native
 * clients, each in its own worker thread as two tabs of one browser would
 * be, sharing one device store and its name, so that each edit reaches the
 * other tab over a BroadcastChannel at once. Writes go to one tab or the
 * other as their seed says; `killTab` terminates one tab's thread at once (a
 * tab the OS kills) and opens it again a moment later. A report is tab 0's
 * view, marked as different when the two tabs disagree.
 *
 * Usage (by the harness, through `fork`): tabPairProcess.js <ReplicaConfig as JSON>
 */
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { DocumentReport, FromReplica, ReplicaConfig, ReplicaReport, ToReplica } from './replicaMessages.js'

const config = JSON.parse(process.argv[2] ?? 'null') as ReplicaConfig | null
if (!config || !process.send) {
  console.error('usage: tabPairProcess.js <config as JSON>, forked with an IPC channel')
  process.exit(2)
}
const tabScript = fileURLToPath(new URL('./replicaProcess.js', import.meta.url))
const tabConfig: ReplicaConfig = { ...config, kind: 'native', tabName: `chaos-tabs-${process.pid}` }

interface Tab {
  readonly worker: Worker
  readonly ready: Promise<void>
  reportWaiters: Array<(report: ReplicaReport) => void>
  stopped?: () => void
}

const tabs: Array<Tab | undefined> = [undefined, undefined]

const openTab = (index: number): Tab => {
  const worker = new Worker(tabScript, { workerData: tabConfig })
  let ready = (): void => {}
  const tab: Tab = { worker, ready: new Promise((resolve) => (ready = resolve)), reportWaiters: [] }
  worker.on('message', (message: FromReplica) => {
    if (message.type === 'ready') ready()
    else if (message.type === 'report') {
      const { type: _type, ...report } = message
      for (const resolve of tab.reportWaiters.splice(0)) resolve(report)
    } else if (message.type === 'stopped') tab.stopped?.()
    else process.send?.(message)
  })
  worker.on('error', (error) => console.error(`tab ${index}: ${error.stack ?? error.message}`))
  tabs[index] = tab
  return tab
}

const reportOf = (tab: Tab | undefined, content: boolean): Promise<ReplicaReport | undefined> =>
  tab
    ? tab.ready.then(
        () =>
          new Promise<ReplicaReport>((resolve) => {
            tab.reportWaiters.push(resolve)
            tab.worker.postMessage({ type: 'report', content } satisfies ToReplica)
          }),
      )
    : Promise.resolve(undefined)

/** Tab 0's view of each document, marked when tab 1 sees it otherwise. */
const merged = (first: ReplicaReport | undefined, second: ReplicaReport | undefined): ReplicaReport => {
  const base = first ?? second
  if (!base) return { documents: {} }
  const documents: Record<string, DocumentReport> = {}
  for (const [doc, mine] of Object.entries(base.documents)) {
    const other = (first && second ? second : base).documents[doc]
    const agree = other?.stateVector === mine.stateVector && other.content === mine.content
    documents[doc] = agree
      ? { ...mine, pending: mine.pending + (first && second ? (other?.pending ?? 0) : 0) }
      : { ...mine, content: `${mine.content} | tab 1: ${other?.content ?? 'none'}`, status: 'tabs differ' }
  }
  return { documents }
}

await Promise.all([openTab(0).ready, openTab(1).ready])

process.on('message', (message: ToReplica) => {
  switch (message.type) {
    case 'write':
    case 'lifecycle': {
      // A write for a tab being reopened goes to the other one, as its user would type there.
      const chosen = message.write.seed % 2
      ;(tabs[chosen] ?? tabs[1 - chosen])?.worker.postMessage(message)
      return
    }
    case 'storeFault':
      for (const tab of tabs) tab?.worker.postMessage(message)
      return
    case 'killTab': {
      const tab = tabs[message.tab]
      if (!tab) return
      tabs[message.tab] = undefined
      void tab.worker.terminate().then(() => setTimeout(() => openTab(message.tab), 300))
      return
    }
    case 'report':
      void Promise.all(tabs.map((tab) => reportOf(tab, message.content))).then(([first, second]) =>
        process.send?.({ type: 'report', ...merged(first, second) } satisfies FromReplica),
      )
      return
    case 'stop':
      void Promise.all(
        tabs.map((tab) =>
          tab
            ? new Promise<void>((resolve) => {
                tab.stopped = resolve
                tab.worker.postMessage(message)
              })
            : undefined,
        ),
      ).then(() => process.exit(0))
      return
  }
})
process.on('disconnect', () => process.exit(0))
process.send({ type: 'ready' } satisfies FromReplica)
