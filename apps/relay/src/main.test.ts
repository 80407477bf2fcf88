/**
 * The service as a user runs it: a real child process of the built
 * concord-relay, a real SQLite file in a temp folder, loopback only.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { closeCodes } from '@concord/protocol'
import { SignJWT } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { NativeTestClient, waitFor } from '@concord/relay/testing'
import { killRelayProcesses, relayMainScript, startRelayProcess as startProcess } from './relayProcess.js'
import { SeqTaggedWrites } from './test/seqTaggedWrites.js'

let dataDir: string
const clients: NativeTestClient[] = []
const startRelayProcess = (...args: string[]) => startProcess(dataDir, 0, ...args)

/** Runs concord-relay with `args` until it exits by itself. */
const runToExit = async (...args: string[]): Promise<{ code: number | null; stderr: string }> => {
  const child = spawn(process.execPath, [relayMainScript, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stderr }
}

const connect = async (url: string) => {
  const client = await NativeTestClient.connect(url)
  clients.push(client)
  return client
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await killRelayProcesses()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

describe('concord-relay service', () => {
  it('prints one line with its address and answers /healthz', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const relay = await startRelayProcess()
    expect(relay.startLine).toMatch(/^Concord relay listening on ws:\/\/127\.0\.0\.1:\d+ \(/)
    expect(relay.startLine).toContain('auth: none, anyone can read and write')
    const http = relay.url.replace('ws://', 'http://')
    const health = await fetch(`${http}/healthz`)
    expect(health.status).toBe(200)
    expect((await fetch(`${http}/nothing-here`)).status).toBe(404)
    expect(existsSync(join(dataDir, 'concord.sqlite'))).toBe(true)
  })

  it('rejects a bad flag with its reason and exit code 2', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const { code, stderr } = await runToExit('--port', 'eighty')
    expect(code).toBe(2)
    expect(stderr).toContain('--port must be a whole number from 0 to 65535, not "eighty"')
  })

  it('keeps every acknowledged update when killed with SIGKILL', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const relay = await startRelayProcess()
    const writer = await connect(relay.url)
    const entry = writer.open('crash')
    await writer.whenSynced('crash')
    const writes = new SeqTaggedWrites(entry)
    writes.burst(300)
    await writer.whenAcked('crash')
    // Keep writing, and kill the relay the moment a further ack arrives, with writes still in flight.
    const ackedBeforeKill = entry.ackedSeq
    writes.burst(300)
    await waitFor(() => entry.ackedSeq > ackedBeforeKill, 'an ack for the second burst')
    relay.child.kill('SIGKILL')
    writes.burst(100)
    const acked = entry.ackedSeq
    expect((await relay.exited).signal).toBe('SIGKILL')

    const restarted = await startRelayProcess()
    const reader = await connect(restarted.url)
    const copy = reader.open('crash').doc
    await reader.whenSynced('crash')
    const present = new Set(copy.getArray<string>('writes').toArray())
    const ackedWrites = writes.acknowledged(acked)
    expect(ackedWrites.length).toBeGreaterThanOrEqual(300)
    expect(ackedWrites.filter((id) => !present.has(id))).toEqual([])
  })

  it('on SIGTERM stores what it accepted, closes connections with 1001 and exits 0', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const relay = await startRelayProcess()
    const writer = await connect(relay.url)
    const { doc } = writer.open('graceful')
    await writer.whenSynced('graceful')
    for (let i = 0; i < 200; i++) doc.getArray('writes').push([i])
    // Wait until the relay has received everything (its forward reaches a second client), not for the acks.
    const watcher = await connect(relay.url)
    const seen = watcher.open('graceful').doc
    await waitFor(() => seen.getArray('writes').length === 200, 'the writes to reach the relay')
    relay.child.kill('SIGTERM')
    expect((await writer.whenClosed()).code).toBe(closeCodes.goingAway)
    expect(await relay.exited).toEqual({ code: 0, signal: null })

    const restarted = await startRelayProcess()
    const reader = await connect(restarted.url)
    const copy = reader.open('graceful').doc
    await reader.whenSynced('graceful')
    expect(copy.getArray('writes').toArray()).toEqual([...Array(200).keys()])
    expect(Y.encodeStateVector(copy)).toEqual(Y.encodeStateVector(doc))
  })

  it('with --jwt-secret, serves a client with a signed token and closes one without (4401)', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const secret = 'a secret of at least thirty-two characters'
    const relay = await startRelayProcess('--jwt-secret', secret)
    expect(relay.startLine).toContain('auth: JWT HS256')
    expect(relay.startLine).not.toContain(secret)
    const token = await new SignJWT({ docs: { 'team/*': 'write' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret))
    const member = await connect(relay.url)
    member.send({ type: 'auth', doc: '', token })
    member.open('team/plan').doc.getText('t').insert(0, 'signed')
    await member.whenAcked('team/plan')
    const stranger = await connect(relay.url)
    stranger.open('team/plan')
    expect(await stranger.whenClosed()).toEqual({ code: closeCodes.unauthenticated, reason: 'a token is required' })
    // The effective configuration is logged once at start, with the secret masked; no token is ever logged.
    const configLine = relay
      .stderr()
      .split('\n')
      .find((line) => line.includes('"msg":"configuration"'))
    expect(JSON.parse(configLine!)).toMatchObject({ config: { jwt: { algorithm: 'HS256', secret: '***' } } })
    expect(relay.stderr()).not.toContain(secret)
    expect(relay.stderr()).not.toContain(token)
  })

  it('takes its JWT secret from a file, and prints no secret, whatever it is given', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const secret = 'a secret of at least thirty-two characters, from a file'
    await writeFile(join(dataDir, 'jwt-secret'), `${secret}\n`)
    const relay = await startRelayProcess('--jwt-secret-file', join(dataDir, 'jwt-secret'))
    expect(relay.startLine).toContain('auth: JWT HS256')
    const token = await new SignJWT({ docs: { 'team/*': 'write' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ada')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret))
    const member = await connect(relay.url)
    member.send({ type: 'auth', doc: '', token })
    member.open('team/plan').doc.getText('t').insert(0, 'signed')
    await member.whenAcked('team/plan')
    expect(relay.stderr()).not.toContain('from a file')

    // A password holding / ? # (which new URL refuses), a secret of the wrong type, a file that is not JSON.
    const store = await runToExit('--data', dataDir, '--store', 'postgres://app:pw/with?odd#chars@127.0.0.1:1/concord')
    expect(store.code).toBe(1)
    expect(store.stderr).toContain('"storeUrl":"postgres://app:***@127.0.0.1:1/concord"')
    expect(store.stderr).not.toMatch(/pw\/with|odd#chars/)
    const config = join(dataDir, 'relay.json')
    await writeFile(config, JSON.stringify({ 'jwt-secret': { value: 'the-wrong-type-s3cret' } }))
    const wrongType = await runToExit('--config', config)
    expect(wrongType.code).toBe(2)
    expect(wrongType.stderr).toContain('"jwt-secret" in the config file')
    expect(wrongType.stderr).not.toContain('s3cret')
    await writeFile(config, '{ "jwt-secret": not-json-s3cret-value }')
    const notJson = await runToExit('--config', config)
    expect(notJson.code).toBe(2)
    expect(notJson.stderr).toContain('is not valid JSON')
    expect(notJson.stderr).not.toContain('s3cret')
  })

  it('says why when the port is taken, and exits 1', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'concord-service-'))
    const first = await startRelayProcess()
    const port = new URL(first.url).port
    const { code, stderr } = await runToExit('--port', port, '--data', dataDir)
    expect(code).toBe(1)
    expect(stderr).toContain('EADDRINUSE')
  })
})
