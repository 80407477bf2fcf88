/**
 * Cluster mode with Redis down when the relay starts: the relay comes up, says so, fails /readyz
 * naming redis while it keeps trying, and fans out between relays once a real redis-server answers.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import {
  NativeTestClient,
  startPostgres,
  startRedis,
  waitFor,
  type PostgresServer,
  type RedisServer,
} from '@concord/relay/testing'
import { startTestService, type TestService } from './test/serviceHarness.js'

let postgres: PostgresServer
let redis: RedisServer
const services: TestService[] = []
const clients: NativeTestClient[] = []

beforeAll(async () => {
  ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
}, 60_000)

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await Promise.all(services.splice(0).map((service) => service.stop()))
})

afterAll(async () => {
  await Promise.all([postgres?.stop(), redis?.stop()])
})

const startClusterService = async (): Promise<TestService> => {
  const service = await startTestService(['--store', postgres.url, '--redis', redis.url])
  services.push(service)
  return service
}

const readyz = async (service: TestService): Promise<{ status: number; failing: string[] }> => {
  const answer = await fetch(`${service.http}/readyz`)
  const body = (await answer.json()) as { failing: string[] }
  return { status: answer.status, failing: body.failing }
}

/** Asks /readyz until it answers 200 (as a load balancer does), for at most 20 s. */
const untilReady = async (service: TestService): Promise<void> => {
  for (let attempt = 0; attempt < 400; attempt++) {
    if ((await readyz(service)).status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the relay did not become ready once Redis answered')
}

const connect = async (service: TestService): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(service.service.url)
  clients.push(client)
  return client
}

it('starts while Redis is down, fails /readyz naming redis until it answers, then fans out', async () => {
  await redis.halt()
  const first = await startClusterService()
  const second = await startClusterService()
  expect(await readyz(first)).toEqual({ status: 503, failing: ['redis'] })
  const lines = first.logs()
  expect(lines.find((line) => line.msg === 'connecting to redis')).toMatchObject({ redis: redis.url })
  await waitFor(() => first.logs().some((line) => line.msg === 'redis error'), 'a failed attempt to be logged', 20_000)
  // Retried, but said once per connection (warn, 40): the retries go to debug.
  await waitFor(
    () => first.logs().filter((line) => line.msg === 'redis error').length > 2,
    'more attempts to be made',
    20_000,
  )
  const warnings = first.logs().filter((line) => line.msg === 'redis error' && line.level === 40)
  expect(warnings.map((line) => line.connection).sort()).toEqual(['publisher', 'subscriber'])

  // Clients on one relay see each other meanwhile.
  const writer = await connect(first)
  const { doc } = writer.open('notes')
  await writer.whenSynced('notes')
  doc.getText('t').insert(0, 'before redis')
  await writer.whenAcked('notes')

  await redis.resume()
  for (const service of [first, second]) {
    await untilReady(service)
    expect(service.logs().some((line) => line.msg === 'redis connected')).toBe(true)
  }
  // A reader on the other relay gets the writer's edits, old (from the store) and new (through Redis).
  const reader = await connect(second)
  const readerDoc = reader.open('notes').doc
  await reader.whenSynced('notes')
  expect(readerDoc.getText('t').toString()).toBe('before redis')
  doc.getText('t').insert(0, 'after: ')
  await writer.whenAcked('notes')
  await waitFor(() => readerDoc.getText('t').toString() === 'after: before redis', 'the edit to cross relays', 20_000)
}, 60_000)
