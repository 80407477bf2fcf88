import { connect, createServer, type AddressInfo } from 'node:net'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SqliteDocStore } from '@concord/relay/sqlite'
import { describe, expect, it } from 'vitest'
import { makeTempDir } from '@concord/relay/testing'
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

  it('is not ready while shutting down, whatever the checks say', async () => {
    expect(await readiness([{ name: 'store', check: () => Promise.resolve() }], true)).toEqual({
      status: 503,
      body: { status: 'shutting down', failing: [], checks: [] },
    })
  })
})
