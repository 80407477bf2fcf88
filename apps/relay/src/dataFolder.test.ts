/**
 * A data folder the relay cannot write, as a root-owned host folder mounted
 * on the image's /data is for its uid 1000: the relay stops at once and says
 * what is wrong and how to fix it.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { relayMainScript } from './relayProcess.js'

let dir: string
/** A user the folder does not belong to; root writes anywhere, so root runs the relay as nobody. */
const runAs = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concord-data-folder-'))
  await chmod(dir, 0o755)
})

afterEach(async () => {
  await chmod(join(dir, 'data'), 0o755).catch(() => {})
  await rm(dir, { recursive: true, force: true })
})

const startRelay = async (data: string): Promise<{ code: number | null; stderr: string }> => {
  const child = spawn(process.execPath, [relayMainScript, '--port', '0', '--data', data], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...runAs,
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stderr }
}

describe('a data folder the relay cannot write', () => {
  it('stops the start with exit 1, naming the folder, the user and the fix', async () => {
    const data = join(dir, 'data')
    await mkdir(data)
    // Owned by this test's user (root in CI) and writable only by it.
    if (!runAs.uid) await chmod(data, 0o555)
    const { code, stderr } = await startRelay(data)
    expect(code).toBe(1)
    expect(stderr).toContain(`concord-relay: could not start: the data folder ${data}`)
    expect(stderr).toMatch(/is not writable by uid \d+ \(gid \d+\) \(EACCES\)/)
    expect(stderr).toContain('chown -R 1000:1000')
    expect(stderr).not.toContain('unable to open database file')
  })

  it('says so too when the folder it would create cannot be made', async () => {
    const data = join(dir, 'parent', 'data')
    await mkdir(join(dir, 'parent'))
    if (!runAs.uid) await chmod(join(dir, 'parent'), 0o555)
    const { code, stderr } = await startRelay(data)
    expect(code).toBe(1)
    expect(stderr).toContain(`the data folder ${data}`)
    expect(stderr).toContain('(EACCES)')
  })
})
