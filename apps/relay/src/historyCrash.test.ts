/**
 * A concord-relay process SIGKILLed while versions are being written: after a restart on the same
 * SQLite folder every listed version loads and decodes, holds only content the store kept, every
 * named version the relay confirmed is listed, and every acknowledged edit is there.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { NativeTestClient } from '@concord/relay/testing'
import { killRelayProcesses, startRelayProcess } from './relayProcess.js'
import { SeqTaggedWrites } from './test/seqTaggedWrites.js'

const apiKey = 'service-key-0123456789-0123456789-abc'
const auth = { authorization: `Bearer ${apiKey}` }
let dataDir: string | undefined
const clients: NativeTestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await killRelayProcesses()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
  dataDir = undefined
})

const connect = async (url: string) => {
  const client = await NativeTestClient.connect(url)
  clients.push(client)
  return client
}

/** Every version the relay at `http` lists for `doc`, newest first, page by page. */
const allVersions = async (http: string, doc: string): Promise<{ id: string; label: string | null }[]> => {
  const versions: { id: string; label: string | null }[] = []
  let cursor: string | null = null
  do {
    const query: string = cursor === null ? 'limit=100' : `limit=100&before=${encodeURIComponent(cursor)}`
    const response = await fetch(`${http}/v1/docs/${doc}/versions?${query}`, { headers: auth })
    expect(response.status).toBe(200)
    const page = (await response.json()) as {
      versions: { id: string; label: string | null }[]
      nextCursor: string | null
    }
    versions.push(...page.versions)
    cursor = page.nextCursor
  } while (cursor !== null)
  return versions
}

describe('history through a SIGKILL', () => {
  it('never leaves a half-written or lost version, nor loses an acknowledged edit', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-history-crash-'))
    // Automatic versions as often as the flags allow, so that one is being written most of the time.
    const flags = ['--api-key', apiKey, '--history-quiet-ms', '100', '--history-max-interval-ms', '100']
    const relay = await startRelayProcess(dataDir, 0, ...flags)
    const http = relay.url.replace('ws://', 'http://')
    const writer = await connect(relay.url)
    const entry = writer.open('crash')
    await writer.whenSynced('crash')
    const writes = new SeqTaggedWrites(entry)
    const saveNamed = (label: string) =>
      fetch(`${http}/v1/docs/crash/versions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ label }),
      })
    const confirmed: string[] = []
    for (let round = 0; round < 8; round++) {
      writes.burst(40)
      await writer.whenAcked('crash')
      const saved = await saveNamed(`round ${round}`)
      expect(saved.status).toBe(201)
      confirmed.push(((await saved.json()) as { id: string }).id)
    }
    // The kill: writes in flight and several named versions being saved, killed as the first is confirmed.
    writes.burst(200)
    const inFlight = Array.from({ length: 6 }, (_, index) => saveNamed(`in flight ${index}`))
    const first = await Promise.race(inFlight)
    relay.child.kill('SIGKILL')
    writes.burst(50)
    const acked = entry.ackedSeq
    expect((await relay.exited).signal).toBe('SIGKILL')
    if (first.status === 201) confirmed.push(((await first.json()) as { id: string }).id)
    await Promise.allSettled(inFlight)

    const restarted = await startRelayProcess(dataDir, 0, ...flags)
    const restartedHttp = restarted.url.replace('ws://', 'http://')
    const reader = await connect(restarted.url)
    const copy = reader.open('crash').doc
    await reader.whenSynced('crash')
    const present = new Set(copy.getArray<string>('writes').toArray())
    const ackedWrites = writes.acknowledged(acked)
    expect(ackedWrites.length).toBeGreaterThanOrEqual(8 * 40)
    expect(ackedWrites.filter((id) => !present.has(id))).toEqual([])

    const versions = await allVersions(restartedHttp, 'crash')
    const listed = new Set(versions.map((version) => version.id))
    expect(confirmed.filter((id) => !listed.has(id))).toEqual([])
    expect(versions.length).toBeGreaterThanOrEqual(confirmed.length)
    for (const version of versions) {
      const response = await fetch(`${restartedHttp}/v1/docs/crash/versions/${version.id}`, { headers: auth })
      expect(response.status, version.id).toBe(200)
      const doc = new Y.Doc()
      Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()))
      // Whole: nothing it refers to is missing. And it holds only what the store kept.
      expect(doc.store.pendingStructs, version.id).toBeNull()
      expect(
        doc
          .getArray<string>('writes')
          .toArray()
          .filter((id) => !present.has(id)),
        version.id,
      ).toEqual([])
      doc.destroy()
    }
  })
})
