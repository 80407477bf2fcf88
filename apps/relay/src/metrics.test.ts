import Database from 'better-sqlite3'
import { closeCodes } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { NativeTestClient } from '@concord/relay/testing'
import { sampleValue, scrape, scrapeUntil, startTestService, type TestService } from './test/serviceHarness.js'

let running: TestService | undefined
const clients: NativeTestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await running?.stop()
  running = undefined
})

const connect = async (url: string): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(url)
  clients.push(client)
  return client
}

describe('GET /metrics', () => {
  it('counts what a client did: connections, messages, stored updates, acks, closes by code', async () => {
    running = await startTestService()
    const { http, service } = running
    const before = await scrape(http)
    expect(sampleValue(before, 'concord_updates_stored_total')).toBe(0)
    expect(sampleValue(before, 'concord_connections')).toBe(0)
    expect(sampleValue(before, 'concord_dependency_up{dependency="store"}')).toBe(1)
    // Node's process metrics come along.
    expect(before).toContain('process_cpu_user_seconds_total')
    expect(before).toContain('nodejs_eventloop_lag_seconds')

    const writer = await connect(service.url)
    const entry = writer.open('notes')
    await writer.whenSynced('notes')
    await writer.whenAcked('notes')
    const afterSync = await scrape(http)
    // The client's sync step 2 (numbered, acknowledged) carried nothing to store.
    expect(sampleValue(afterSync, 'concord_updates_stored_total')).toBe(0)
    expect(sampleValue(afterSync, 'concord_ack_latency_seconds_count')).toBe(1)

    const updates = 7
    for (let i = 0; i < updates; i++) entry.doc.getText('t').insert(i, 'x')
    await writer.whenAcked('notes')
    const afterWrites = await scrape(http)
    expect(sampleValue(afterWrites, 'concord_updates_stored_total')).toBe(updates)
    expect(sampleValue(afterWrites, 'concord_stored_bytes_total')).toBeGreaterThan(updates * 10)
    expect(sampleValue(afterWrites, 'concord_ack_latency_seconds_count')).toBe(1 + updates)
    expect(sampleValue(afterWrites, 'concord_ack_latency_seconds_sum')).toBeGreaterThan(0)
    expect(sampleValue(afterWrites, 'concord_ack_latency_seconds_bucket{le="+Inf"}')).toBe(1 + updates)
    expect(sampleValue(afterWrites, 'concord_connections')).toBe(1)
    expect(sampleValue(afterWrites, 'concord_documents_loaded')).toBe(1)
    expect(sampleValue(afterWrites, 'concord_queued_bytes')).toBe(0)
    expect(sampleValue(afterWrites, 'concord_connections_opened_total{mode="native"}')).toBe(1)
    // open, sync step 1, sync step 2, then one frame per update.
    expect(sampleValue(afterWrites, 'concord_messages_received_total{mode="native"}')).toBe(3 + updates)
    expect(sampleValue(afterWrites, 'concord_received_bytes_total{mode="native"}')).toBeGreaterThan(updates * 10)
    // The relay's step 1 and step 2, and at least one ack.
    expect(sampleValue(afterWrites, 'concord_messages_sent_total{mode="native"}')).toBeGreaterThanOrEqual(3)
    expect(sampleValue(afterWrites, 'concord_store_errors_total{operation="append"}')).toBe(0)

    // A y-websocket peer in the same document receives the updates: bytes out in its mode.
    const peer = new WebSocket(`${service.url}/notes`)
    await new Promise((resolve) => peer.once('message', resolve))
    peer.close(closeCodes.normal)
    await new Promise((resolve) => peer.once('close', resolve))

    const offender = await connect(service.url)
    offender.ws.send(Uint8Array.of(0xde, 0xad, 0xbe, 0xef))
    expect((await offender.whenClosed()).code).toBe(closeCodes.malformedMessage)
    // The relay sees a close a moment after the client does.
    const afterClose = await scrapeUntil(http, (metrics) => sampleValue(metrics, 'concord_connections') === 1)
    expect(sampleValue(afterClose, 'concord_connections_closed_total{mode="native",code="4400",by="relay"}')).toBe(1)
    expect(
      sampleValue(afterClose, 'concord_connections_closed_total{mode="y-websocket",code="1000",by="client"}'),
    ).toBe(1)
    expect(sampleValue(afterClose, 'concord_connections_opened_total{mode="y-websocket"}')).toBe(1)
    expect(sampleValue(afterClose, 'concord_sent_bytes_total{mode="y-websocket"}')).toBeGreaterThan(0)
  })

  it('keeps each service apart: a second one starts from zero', async () => {
    const first = await startTestService()
    try {
      const writer = await connect(first.service.url)
      const { doc } = writer.open('a')
      await writer.whenSynced('a')
      doc.getText('t').insert(0, 'hello')
      await writer.whenAcked('a')
      expect(sampleValue(await scrape(first.http), 'concord_updates_stored_total')).toBe(1)
      running = await startTestService()
      expect(sampleValue(await scrape(running.http), 'concord_updates_stored_total')).toBe(0)
    } finally {
      await first.stop()
    }
  })
})

describe('GET /metrics, history', () => {
  it('counts the old automatic versions that retention deleted', async () => {
    running = await startTestService(['--history-thin-interval-ms', '1000'])
    const { http, service } = running
    const writer = await connect(service.url)
    const { doc } = writer.open('old')
    await writer.whenSynced('old')
    doc.getText('t').insert(0, 'hello')
    await writer.whenAcked('old')
    expect(sampleValue(await scrape(http), 'concord_versions_thinned_total')).toBe(0)
    // Five automatic versions within one hour two days ago (the defaults keep the oldest, and the newest
    // automatic version is always kept), written to the file.
    const db = new Database(service.storePath)
    const hourAgo = Math.floor((Date.now() - 2 * 86_400_000) / 3_600_000) * 3_600_000
    const insert = db.prepare(
      "INSERT INTO versions (doc, id, created_at, label, authors, restored_from, state) VALUES ('old', ?, ?, NULL, '[]', NULL, ?)",
    )
    for (let minute = 0; minute < 5; minute++) insert.run(`v${minute}`, hourAgo + minute * 60_000, Buffer.from([0, 0]))
    db.close()
    const after = await scrapeUntil(http, (body) => sampleValue(body, 'concord_versions_thinned_total') === 3)
    expect(sampleValue(after, 'concord_versions_thinned_total')).toBe(3)
    expect(sampleValue(after, 'concord_thinning_failures_total')).toBe(0)
  })
})

describe('GET /readyz', () => {
  it('answers 200 while the store answers, and 503 naming it (and concord_dependency_up 0) once it does not', async () => {
    running = await startTestService()
    const ready = await fetch(`${running.http}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ready', failing: [], checks: [{ name: 'store', ok: true }] })
    expect((await fetch(`${running.http}/healthz`)).status).toBe(200)

    // Break the store for real: another connection drops its table.
    const db = new Database(running.service.storePath)
    db.exec('DROP TABLE updates')
    db.close()
    const notReady = await fetch(`${running.http}/readyz`)
    expect(notReady.status).toBe(503)
    expect(await notReady.json()).toEqual({
      status: 'not ready',
      failing: ['store'],
      checks: [{ name: 'store', ok: false }],
    })
    // Asked again and again, as a load balancer does: logged once, when the answer changed.
    expect((await fetch(`${running.http}/readyz`)).status).toBe(503)
    const notReadyLines = running.logs().filter((line) => line.msg === 'not ready')
    expect(notReadyLines).toHaveLength(1)
    expect(notReadyLines[0]).toMatchObject({ level: 40, readiness: { failing: ['store'] } })
    // Why goes to the log only.
    expect(JSON.stringify(notReadyLines[0])).toContain('no such table')
    expect(sampleValue(await scrape(running.http), 'concord_dependency_up{dependency="store"}')).toBe(0)
    // Still alive: restarting would not bring the table back.
    expect((await fetch(`${running.http}/healthz`)).status).toBe(200)
  })

  it('asks the checks the service was given besides the store', async () => {
    running = await startTestService([], {
      readinessChecks: [{ name: 'redis', check: () => Promise.reject(new Error('connect ECONNREFUSED')) }],
    })
    const answer = await fetch(`${running.http}/readyz`)
    expect(answer.status).toBe(503)
    expect(await answer.json()).toMatchObject({ failing: ['redis'] })
    const metrics = await scrape(running.http)
    expect(sampleValue(metrics, 'concord_dependency_up{dependency="redis"}')).toBe(0)
    expect(sampleValue(metrics, 'concord_dependency_up{dependency="store"}')).toBe(1)
  })
})
