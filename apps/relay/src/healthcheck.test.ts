/**
 * `concord-relay healthcheck` and the image's HEALTHCHECK, against real
 * relay processes whose port comes from a flag, a config file or an
 * environment variable, as an operator gives it.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { killRelayProcesses, relayMainScript, spawnRelayProcess } from './relayProcess.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concord-healthcheck-'))
})

afterEach(async () => {
  await killRelayProcesses()
  await rm(dir, { recursive: true, force: true })
})

/** Runs a command to its end; resolves with its exit code and what it printed on stderr. */
const run = async (
  command: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> => {
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CONCORD_ADDRESS_FILE: undefined, CONCORD_PORT: undefined, ...env },
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const [code] = await once(child, 'exit')
  return { code: code as number | null, stderr }
}

const healthcheck = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  run([process.execPath, relayMainScript, 'healthcheck', ...args], env)

describe('concord-relay healthcheck', () => {
  it('follows a port given as a flag after the command, and fails once the relay is gone', async () => {
    const addressFile = join(dir, 'address')
    const relay = await spawnRelayProcess(['--port', '0', '--data', dir, '--address-file', addressFile])
    expect(JSON.parse(readFileSync(addressFile, 'utf8'))).toEqual({
      healthz: `http://127.0.0.1:${relay.port}/healthz`,
      pid: relay.child.pid,
    })
    expect(await healthcheck({}, '--address-file', addressFile)).toEqual({ code: 0, stderr: '' })

    relay.child.kill('SIGKILL')
    await relay.exited
    const dead = await healthcheck({ CONCORD_ADDRESS_FILE: addressFile })
    expect(dead.code).toBe(1)
    expect(dead.stderr).toContain('concord-relay healthcheck:')
  })

  it('follows the port and address file of a config file', async () => {
    await writeFile(join(dir, 'relay.json'), JSON.stringify({ port: 0, data: 'data', 'address-file': 'address' }))
    const relay = await spawnRelayProcess(['--config', join(dir, 'relay.json')])
    expect(await healthcheck({ CONCORD_ADDRESS_FILE: join(dir, 'address') })).toEqual({ code: 0, stderr: '' })

    // A clean stop takes the file away: nothing is left that names a port nobody serves.
    relay.child.kill('SIGTERM')
    expect(await relay.exited).toEqual({ code: 0, signal: null })
    expect(existsSync(join(dir, 'address'))).toBe(false)
    const stopped = await healthcheck({ CONCORD_ADDRESS_FILE: join(dir, 'address') })
    expect(stopped.code).toBe(1)
    expect(stopped.stderr).toContain('no relay has written its address')
  })

  it('asks the one address the relay binds, when that is not 127.0.0.1', async () => {
    const addressFile = join(dir, 'address')
    // Another loopback address stands in for a host's own address: tests send nothing off this machine.
    const relay = await spawnRelayProcess([], {
      CONCORD_HOST: '127.0.0.2',
      CONCORD_PORT: '0',
      CONCORD_DATA: dir,
      CONCORD_ADDRESS_FILE: addressFile,
    })
    expect(relay.url).toBe(`ws://127.0.0.2:${relay.port}`)
    expect(await healthcheck({ CONCORD_ADDRESS_FILE: addressFile })).toEqual({ code: 0, stderr: '' })
  })

  it('says how to call it when no address file is named (exit 2)', async () => {
    const { code, stderr } = await healthcheck({})
    expect(code).toBe(2)
    expect(stderr).toContain('give --address-file or CONCORD_ADDRESS_FILE')
  })
})

describe("the image's HEALTHCHECK (apps/relay/Dockerfile)", () => {
  const dockerfile = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8')
  /** The runtime stage's ENV, as the health check sees it. */
  const imageEnv = (): NodeJS.ProcessEnv => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    const env: NodeJS.ProcessEnv = {}
    for (const [, body] of runtime.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
      for (const [, key, value] of body!.matchAll(/([A-Z_]+)=(\S+)/g)) env[key!] = value
    }
    return env
  }
  const healthcheckCommand = (): string[] => {
    const line = /^HEALTHCHECK (?:.*\\\n)*\s*CMD (\[.*\])$/m.exec(dockerfile)
    if (!line) throw new Error('no HEALTHCHECK CMD in exec form in the Dockerfile')
    return (JSON.parse(line[1]!) as string[]).map((part) => (part === '/app/dist/main.js' ? relayMainScript : part))
  }

  it('passes for a relay whose port was given as a flag after the image name', async () => {
    const env = imageEnv()
    expect(env.CONCORD_ADDRESS_FILE).toBeDefined()
    // As in the container: the image's ENV, with the address file moved to this test's folder.
    const containerEnv = { ...env, CONCORD_HOST: '127.0.0.1', CONCORD_DATA: dir, CONCORD_ADDRESS_FILE: join(dir, 'a') }
    await spawnRelayProcess(['--port', '0'], containerEnv)
    expect(await run(healthcheckCommand(), containerEnv)).toEqual({ code: 0, stderr: '' })
  })

  it('has no syntax line, which would make an offline build fetch a frontend image', () => {
    expect(dockerfile).not.toMatch(/^# *syntax=/m)
  })
})
