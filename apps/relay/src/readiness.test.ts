import { connect, createServer, type AddressInfo } from 'node:net'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SqliteDocStore } from '@concord/relay/sqlite'
import { describe, expect, it } from 'vitest'
import { FaultInjectingDocStore, makeTempDir } from '@concord/relay/testing'
import { readiness, type ReadinessCheck } from './readiness.js'

/** A check of a TCP dependency (as Redis's would be): resolves once a connection to `port` opens. */
const tcpCheck = (name: string, port: number): ReadinessCheck => ({
  name,
  check: async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end()
        resolve()
      })
      socket.once('error', reject)
    })
  },
})

/** A loopback port that nothing listens on (it was free a moment ago). */
const closedPort = async (): Promise<number> => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once readiness answers 200 (within a few seconds). */
const waitForReady = async (checks: readonly ReadinessCheck[]): Promise<void> => {
  const deadline = Date.now() + 5_000
  while ((await readiness(checks, false, 100)).status !== 200) {
    if (Date.now() > deadline) throw new Error('not ready after 5 s')
  }
}

describe('readiness', () => {
  it('is ready when every check answers, and names each one that does not', async () => {
    const dir = await makeTempDir()
    const store = new SqliteDocStore(join(dir, 'concord.sqlite'))
    const closedStore = new SqliteDocStore(join(dir, 'other.sqlite'))
    await closedStore.close()
    try {
      const storeCheck = { name: 'store', check: () => store.ping() }
      expect(await readiness([storeCheck], false)).toEqual({
        status: 200,
        body: { status: 'ready', failing: [], checks: [{ name: 'store', ok: true }] },
      })
      const answer = await readiness(
        [
          { name: 'store', check: () => closedStore.ping() },
          tcpCheck('redis', await closedPort()),
          { name: 'stuck', check: () => new Promise<void>(() => {}) },
          {
            name: 'throws',
            check: () => {
              throw new Error('at once')
            },
          },
        ],
        false,
        100,
      )
      expect(answer.status).toBe(503)
      expect(answer.body.status).toBe('not ready')
      expect(answer.body.failing).toEqual(['store', 'redis', 'stuck', 'throws'])
      expect(answer.body.checks.map((check) => check.error)).toEqual([
        'the document store is closed',
        expect.stringContaining('ECONNREFUSED'),
        'no answer within 100 ms',
        'at once',
      ])
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('fails within its timeout while the store stalls, asks a stalled store once, and is ready when it answers', async () => {
    const dir = await makeTempDir()
    const store = new FaultInjectingDocStore(new SqliteDocStore(join(dir, 'concord.sqlite')))
    try {
      const checks = [{ name: 'store', check: () => store.ping() }]
      const stall = store.stall('ping')
      for (let probe = 0; probe < 10; probe++) {
        // The stalled ping never answers: that readiness answers at all is its timeout's doing.
        const answer = await readiness(checks, false, 50)
        expect(answer).toMatchObject({ status: 503, body: { failing: ['store'] } })
        expect(answer.body.checks[0]?.error).toBe('no answer within 50 ms')
      }
      // One ping waits in the store, not ten.
      expect(store.calls.ping).toBe(1)
      stall.release()
      await waitForReady(checks)
      expect((await readiness(checks, false, 50)).status).toBe(200)
    } finally {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('is not ready while shutting down, whatever the checks say', async () => {
    expect(await readiness([{ name: 'store', check: () => Promise.resolve() }], true)).toEqual({
      status: 503,
      body: { status: 'shutting down', failing: [], checks: [] },
    })
  })
})
