/**
 * What GET /readyz tells whoever asks: which dependency fails, never why (an error can name hosts,
 * ports, users, databases); why goes to the log, and to /readyz only with --readyz-details.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { startTestService, type TestService } from './test/serviceHarness.js'

let running: TestService | undefined

afterEach(async () => {
  await running?.stop()
  running = undefined
})

const internalError = 'connect ECONNREFUSED 10.1.2.3:6379 (user concord-admin, database prod_docs)'
const failingRedis = { name: 'redis', check: () => Promise.reject(new Error(internalError)) }

describe('GET /readyz', () => {
  it('names the failing dependency to anonymous clients, and logs why', async () => {
    running = await startTestService([], { readinessChecks: [failingRedis] })
    const answer = await fetch(`${running.http}/readyz`)
    expect(answer.status).toBe(503)
    const text = await answer.text()
    expect(JSON.parse(text)).toEqual({
      status: 'not ready',
      failing: ['redis'],
      checks: [
        { name: 'store', ok: true },
        { name: 'redis', ok: false },
      ],
    })
    expect(text).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|concord-admin|prod_docs/)
    const logged = running.logs().find((line) => line.msg === 'not ready')
    expect(JSON.stringify(logged)).toContain(internalError)
  })

  it('shows why with --readyz-details', async () => {
    running = await startTestService(['--readyz-details'], { readinessChecks: [failingRedis] })
    const answer = await fetch(`${running.http}/readyz`)
    expect(answer.status).toBe(503)
    expect(await answer.json()).toMatchObject({
      failing: ['redis'],
      checks: [
        { name: 'store', ok: true },
        { name: 'redis', ok: false, error: internalError },
      ],
    })
  })
})
