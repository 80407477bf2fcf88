/**
 * Owns one native replica as its own Node process, for the harness to crash:
 * @concord/client with a SQLite store on disk, connected to the relay through
 * the replica's link proxy, with one or more documents on its one socket. It
 * applies the writes it is sent, runs the app lifecycles it is told to
 * (close and reopen, close then destroy, destroy and recreate), and tells the
 * harness which elements each store row holds once it is committed, which
 * rows the client marked acknowledged, when `whenSynced()` resolved, every
 * error the client reported, and every close code the relay sent.
 *
 * Usage (by the harness, through `fork`): replicaProcess.js <ReplicaConfig as JSON>
 * A tab of a tab pair (`tabPairProcess.ts`) runs this same module as a worker
 * thread, with its config in `workerData` and its messages on `parentPort`.
 */
import {
  createClient,
  type ConcordClient,
  type DocHandle,
  type LocalStore,
  type WebSocketConstructor,
} from '@concord/client'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { WebSocket } from 'ws'
import type * as Y from 'yjs'
import { observerTrapKey } from './hostileWriter.js'
import type { FromReplica, Lifecycle, ReplicaConfig, ToReplica } from './replicaMessages.js'
import { reportDocument } from './replicaReport.js'
import { SqliteLocalStore } from './sqliteLocalStore.js'
import { answerWhenSteady } from './steadyReport.js'
import { FaultyLocalStore } from './storageFaults.js'
import { applyWrite, elementsInUpdate } from './workload.js'

const config = (isMainThread ? JSON.parse(process.argv[2] ?? 'null') : workerData) as ReplicaConfig | null
if (!config || (isMainThread && !process.send)) {
  console.error('usage: replicaProcess.js <config as JSON>, forked with an IPC channel')
  process.exit(2)
}

const tell = (message: FromReplica): void => {
  if (parentPort) parentPort.postMessage(message)
  else process.send?.(message)
}
const onMessage = (listener: (message: ToReplica) => void): void => {
  if (parentPort) parentPort.on('message', listener)
  else process.on('message', listener)
}

/**
 * The store wrapper the harness learns commits and acks from. Each committed local row is read
 * for the elements it holds, so an append the client never makes cannot shift the count.
 */
const faulty = new FaultyLocalStore(new SqliteLocalStore(config.storePath, { synchronous: 'normal' }), {
  dropAppends: config.dropAppends === true,
})
let firstStore = true
const observedStore = (): LocalStore => {
  // A recreated client opens the store again, as an app does; the faults armed carry over.
  if (!firstStore) faulty.replaceInner(new SqliteLocalStore(config.storePath, { synchronous: 'normal' }))
  firstStore = false
  const sqlite = faulty
  return {
    load: (doc) => sqlite.load(doc),
    append: async (doc, update, pending) => {
      const id = await sqlite.append(doc, update, pending)
      if (pending) tell({ type: 'committed', doc, elements: elementsInUpdate(update), id })
      return id
    },
    acknowledge: async (doc, ids) => {
      await sqlite.acknowledge(doc, ids)
      tell({ type: 'acknowledged', doc, ids })
    },
    compact: (doc, merge) => sqlite.compact(doc, merge),
    mergePending: async (doc, ids, merge) => {
      const merged = await sqlite.mergePending(doc, ids, merge)
      if (merged) tell({ type: 'merged', doc, ids, into: Math.max(...ids) })
      return merged
    },
    remove: (doc) => sqlite.remove(doc),
    close: () => sqlite.close(),
  }
}

/** The `ws` WebSocket, telling the harness every close code the relay sends. */
class ObservedWebSocket extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols)
    this.on('close', (code: number, reason: Buffer) => {
      // 1005: no code (the proxy cut the link), 1006: abnormal closure; neither came from the relay.
      if (code !== 1005 && code !== 1006) tell({ type: 'closedByRelay', code, reason: reason.toString() })
    })
  }
}

let client: ConcordClient
const handles = new Map<string, DocHandle>()
/** Per document: the elements this process wrote, and whether a `whenSynced()` is outstanding. */
const written = new Map<string, string[]>()
const syncWatch = new Map<string, boolean>()

const watchSync = (doc: string): void => {
  const handle = handles.get(doc)
  const elements = [...(written.get(doc) ?? [])]
  if (!handle || elements.length === 0 || syncWatch.get(doc)) return
  syncWatch.set(doc, true)
  handle.whenSynced().then(
    () => {
      syncWatch.set(doc, false)
      tell({ type: 'synced', doc, elements })
      if ((written.get(doc)?.length ?? 0) !== elements.length) watchSync(doc)
    },
    () => syncWatch.set(doc, false),
  )
}

const startClient = (): void => {
  client = createClient({
    url: config.url,
    store: observedStore(),
    WebSocket: ObservedWebSocket as unknown as WebSocketConstructor,
    // Tabs of a pair share their store's name over a BroadcastChannel, as browser tabs do.
    shareAcrossTabs: config.tabName !== undefined,
    ...(config.tabName !== undefined && { name: config.tabName }),
    ...(config.token !== undefined && { auth: config.token }),
    // Short heartbeats and backoff, so a stalled link is noticed and a healed one used within seconds.
    connection: {
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 2_000,
      backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
    },
  })
  client.on('error', (error) => {
    if (!config.hidesErrors) tell({ type: 'error', code: error.code, message: error.message, doc: error.doc })
  })
  for (const doc of config.documents) {
    const handle = client.open(doc)
    // An app observer with a bug: it throws on a value the hostile writer sets (`observerTrap`).
    const observe = (ydoc: Y.Doc): void =>
      ydoc.getMap('map').observe((event) => {
        if (event.keysChanged.has(observerTrapKey)) throw new Error('an app observer threw (on purpose)')
      })
    observe(handle.doc)
    // A squat's victim forks to a new doc (clockFork.ts in the client): the app binds to it again.
    handle.on('replaced', (next) => observe(next))
    handles.set(doc, handle)
  }
}

/** Writes that arrive while a lifecycle replaces the client wait for its successor. */
let replacing: Promise<void> | undefined
const waiting: Array<Extract<ToReplica, { type: 'write' }>> = []

const write = ({ doc, write }: Extract<ToReplica, { type: 'write' }>): void => {
  if (replacing) {
    waiting.push({ type: 'write', doc, write })
    return
  }
  const handle = handles.get(doc)
  if (!handle) return
  applyWrite(handle.doc, write)
  const mine = written.get(doc)
  if (mine) mine.push(write.element)
  else written.set(doc, [write.element])
  // The sabotage: a claim of sync before the relay could have the write.
  if (config.syncsEarly) tell({ type: 'synced', doc, elements: [write.element] })
  watchSync(doc)
}

const runLifecycle = (lifecycle: Lifecycle, doc: string): void => {
  if (replacing) return
  if (lifecycle === 'reopen') {
    handles.get(doc)?.close()
    handles.set(doc, client.open(doc))
    syncWatch.set(doc, false)
    watchSync(doc)
    return
  }
  const old = client
  if (lifecycle === 'closeThenDestroy') for (const handle of handles.values()) handle.close()
  handles.clear()
  syncWatch.clear()
  replacing = old.destroy().then(() => {
    replacing = undefined
    startClient()
    for (const pending of waiting.splice(0)) write(pending)
    for (const name of config.documents) watchSync(name)
  })
}

startClient()
await Promise.all([...handles.values()].map((handle) => handle.whenLoaded()))

onMessage((message: ToReplica) => {
  switch (message.type) {
    case 'write':
      write(message)
      return
    case 'storeFault':
      faulty.inject(message.fault)
      return
    case 'killTab':
      return
    case 'lifecycle':
      write({ type: 'write', doc: message.doc, write: message.write })
      runLifecycle(message.lifecycle, message.doc)
      return
    case 'report':
      // Of the documents as loaded: a lifecycle sent after the report may be handled before it answers.
      void answerWhenSteady({ replacing: () => replacing, handles: () => handles }, (open) =>
        tell({
          type: 'report',
          documents: Object.fromEntries(
            [...open].map(([doc, handle]) => [
              doc,
              reportDocument(handle.doc, message.content, handle.pending, handle.status),
            ]),
          ),
        }),
      )
      return
    case 'stop':
      void (replacing ?? Promise.resolve())
        .then(() => client.destroy())
        .then(() => (parentPort ? tell({ type: 'stopped' }) : process.exit(0)))
      return
  }
})
// The harness went away: do not outlive it.
if (!parentPort) process.on('disconnect', () => process.exit(0))
tell({ type: 'ready' })
