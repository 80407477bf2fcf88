/**
 * A stock provider's sync status (y-websocket 3.1.0-rc.2) across a crash of
 * the real concord-relay process: an edit the relay received but had not
 * committed when it was killed stays unconfirmed; the provider resends it to
 * the relay restarted on the same data and port, and only once that relay
 * has stored it does the provider show it as saved.
 */
import { decodeYWebsocketMessage, encodeYWebsocketMessage, type YWebsocketMessage } from '@concord/protocol'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket-sync-status'
import * as Y from 'yjs'
import { waitFor } from '@concord/relay/testing'
import { killRelayProcesses, startRelayProcess } from './relayProcess.js'

const providers: WebsocketProvider[] = []
const tempDirs: string[] = []

afterEach(async () => {
  for (const provider of providers.splice(0)) {
    provider.destroy()
    provider.doc.destroy()
  }
  await killRelayProcesses()
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const provide = (url: string, room: string): WebsocketProvider => {
  const provider = new WebsocketProvider(url, room, new Y.Doc(), {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    maxBackoffTime: 500,
  })
  providers.push(provider)
  return provider
}

/** Green with nothing unconfirmed (within an edit's first millisecond the provider reads green too). */
const confirmed = (provider: WebsocketProvider): boolean =>
  provider.syncStatus.status === 'green' && provider.syncStatus.localUpdatesSynced

describe('y-websocket mode: the service flag', () => {
  it.each([
    ['by default, echoes a stored update to its sender', [], 1],
    ['with --no-echo-committed, does not', ['--no-echo-committed'], 0],
  ] as const)('%s', async (_what, flags, echoes) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concord-echo-'))
    tempDirs.push(dataDir)
    const relay = await startRelayProcess(dataDir, 0, ...flags)
    const ws = new WebSocket(`${relay.url}/flag`)
    const received: YWebsocketMessage[] = []
    ws.on('message', (data: Buffer) => received.push(decodeYWebsocketMessage(new Uint8Array(data))))
    await new Promise((resolve) => ws.once('open', resolve))
    const source = new Y.Doc()
    source.getText('t').insert(0, 'flagged')
    const update = Y.encodeStateAsUpdate(source)
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'update', update } }))
    const db = new Database(join(dataDir, 'concord.sqlite'), { readonly: true })
    const rows = db.prepare("SELECT count(*) AS rows FROM updates WHERE doc = 'flag'")
    await waitFor(() => (rows.get() as { rows: number }).rows === 1, 'the update on disk')
    db.close()
    // One more round trip: an echo, sent at the commit, arrives before this answer.
    const before = received.length
    ws.send(encodeYWebsocketMessage({ type: 'sync', sync: { type: 'step1', stateVector: new Uint8Array([0]) } }))
    await waitFor(() => received.slice(before).some((message) => message.type === 'sync'), 'the step 2 answer')
    ws.terminate()
    const echoed = received.filter((message) => message.type === 'sync' && message.sync.type === 'update')
    expect(echoed).toHaveLength(echoes)
  })
})

describe('y-websocket mode: a relay killed between receipt and commit', () => {
  it('leaves the edit unconfirmed until the provider resends it to the restarted relay, which stores it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'concord-echo-'))
    tempDirs.push(dataDir)
    const first = await startRelayProcess(dataDir)
    const alice = provide(first.url, 'crash')
    const bob = provide(first.url, 'crash')
    await waitFor(() => confirmed(alice) && confirmed(bob), 'both providers synced', 15_000)

    // Hold the commit: another connection takes the SQLite write lock, so the relay's append
    // waits (up to its 5 s busy timeout) and nothing it received since is durable.
    const lock = new Database(join(dataDir, 'concord.sqlite'))
    lock.exec('BEGIN IMMEDIATE')
    alice.doc.getText('t').insert(0, 'typed before the crash')
    await waitFor(() => bob.doc.getText('t').toString() === 'typed before the crash', 'the forward to bob')
    // Only alice may bring the edit back (bob would resend it too).
    bob.destroy()
    first.child.kill('SIGKILL')
    await first.exited
    lock.exec('ROLLBACK')
    // The relay died before its commit: nothing of the document is on disk.
    expect(lock.prepare("SELECT count(*) AS rows FROM updates WHERE doc = 'crash'").get()).toEqual({ rows: 0 })
    lock.close()
    expect(alice.syncStatus.localUpdatesSynced).toBe(false)

    const second = await startRelayProcess(dataDir, first.port)
    await waitFor(() => confirmed(alice), 'the resent edit confirmed by the restarted relay', 20_000)
    // Confirmed means stored: a newcomer reads it from the restarted relay.
    const carol = provide(second.url, 'crash')
    await waitFor(() => carol.doc.getText('t').toString() === 'typed before the crash', 'the edit at carol', 15_000)
  })
})
