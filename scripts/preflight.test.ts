import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { findMissing, installLine } from './preflight.mjs'

const script = fileURLToPath(new URL('./preflight.mjs', import.meta.url))
const folders: string[] = []

/** A folder holding executable stand-ins for the given programs (paths relative to it). */
const fakeInstall = (...programs: string[]): string => {
  const root = mkdtempSync(join(tmpdir(), 'concord-preflight-'))
  folders.push(root)
  for (const program of programs) {
    const path = join(root, program)
    mkdirSync(join(path, '..'), { recursive: true })
    writeFileSync(path, '#!/bin/sh\n')
    chmodSync(path, 0o755)
  }
  return root
}

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

describe('preflight', () => {
  it('finds nothing missing when chromium, redis-server and initdb are there', () => {
    const root = fakeInstall('bin/chromium', 'bin/redis-server', 'pg/16/bin/initdb')
    const env = { PATH: join(root, 'bin'), CONCORD_CHROMIUM: join(root, 'bin/chromium') }
    expect(findMissing(undefined, { env, postgresRoot: join(root, 'pg') })).toEqual([])
  })

  it('names the one apt-get line for everything missing, in a fixed order', () => {
    const root = fakeInstall()
    const env = { PATH: join(root, 'bin'), CONCORD_CHROMIUM: join(root, 'no-chromium') }
    const missing = findMissing(undefined, { env, postgresRoot: join(root, 'pg') })
    expect(missing.map(({ name }) => name)).toEqual(['chromium', 'redis', 'postgresql'])
    expect(installLine(missing)).toBe('apt-get install -y chromium redis-server postgresql')
  })

  it('finds initdb on PATH too, and a non-executable chromium counts as missing', () => {
    const root = fakeInstall('bin/initdb', 'bin/redis-server')
    writeFileSync(join(root, 'chromium'), 'not a program')
    const env = { PATH: join(root, 'bin'), CONCORD_CHROMIUM: join(root, 'chromium') }
    const missing = findMissing(undefined, { env, postgresRoot: join(root, 'pg') })
    expect(installLine(missing)).toBe('apt-get install -y chromium')
  })

  it('checks only the needs it is asked for', () => {
    const root = fakeInstall()
    const env = { PATH: join(root, 'bin') }
    expect(findMissing(['redis'], { env, postgresRoot: join(root, 'pg') }).map(({ name }) => name)).toEqual(['redis'])
  })

  it('as a script, exits 1 and prints the apt-get line when something is missing', () => {
    const root = fakeInstall()
    const result = spawnSync(process.execPath, [script, 'chromium', 'redis'], {
      encoding: 'utf8',
      env: { PATH: join(root, 'bin'), CONCORD_CHROMIUM: join(root, 'no-chromium') },
    })
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('\n  apt-get install -y chromium redis-server\n')
  })

  it('as a script, exits 0 and prints nothing when everything asked for is there', () => {
    const root = fakeInstall('bin/redis-server')
    const result = spawnSync(process.execPath, [script, 'redis'], {
      encoding: 'utf8',
      env: { PATH: join(root, 'bin') },
    })
    expect(result.status).toBe(0)
    expect(result.stderr).toBe('')
  })

  it('as a script, refuses a need it does not know', () => {
    const result = spawnSync(process.execPath, [script, 'mysql'], { encoding: 'utf8' })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('unknown need mysql')
  })
})
