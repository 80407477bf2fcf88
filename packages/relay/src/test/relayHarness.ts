/**
 * Owns starting a real relay for a test: a node:http server on an ephemeral
 * 127.0.0.1 port, a store (SQLite in a temp folder unless given), and one
 * `close()` that tears everything down.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRelay } from '../relay.js'
import type { Relay, RelayOptions } from '../relayOptions.js'
import type { DocStore } from '../docStore.js'

export interface TestRelay {
  readonly relay: Relay
  readonly server: Server
  readonly store: DocStore
  /** ws://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  close(): Promise<void>
}

export const makeTempDir = (prefix = 'concord-test-'): Promise<string> => mkdtemp(join(tmpdir(), prefix))

export const startRelay = async (
  options: Partial<RelayOptions> & { readonly port?: number; readonly dataDir?: string } = {},
): Promise<TestRelay> => {
  const ownDir = options.store || options.dataDir ? undefined : await makeTempDir()
  // Imported here, not at the top, so that @concord/relay/testing loads better-sqlite3 only for a relay on SQLite.
  const sqlite = options.store ? undefined : await import('../sqliteDocStore.js')
  const store = options.store ?? new sqlite!.SqliteDocStore(join(options.dataDir ?? ownDir!, 'concord.sqlite'))
  // The store's worker thread takes a few hundred ms to start from the TypeScript sources (through tsx):
  // wait until it answers, so tests that time things (token lifetimes) start from a ready store.
  if (!options.store) await store.ping?.()
  const relay = createRelay({ ...options, store })
  const server = createServer((request, response) => {
    if (!relay.handleHttp(request, response)) response.writeHead(404).end()
  })
  relay.attach(server)
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    relay,
    server,
    store,
    url: `ws://127.0.0.1:${port}`,
    port,
    close: async () => {
      await relay.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await store.close()
      if (ownDir) await rm(ownDir, { recursive: true, force: true })
    },
  }
}

/**
 * How long a wait for an event lasts before it fails naming what never came. Only a hang should
 * reach it: on a loaded machine a relay's first version or load can take several seconds, so it is
 * most of a test's own timeout (30 s), not a guess at how long the event takes.
 */
export const waitTimeoutMs = 20_000

/** Resolves once `condition()` holds, checking every 10 ms; rejects with `what` after `timeoutMs`. */
export const waitFor = async (condition: () => boolean, what: string, timeoutMs = waitTimeoutMs): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Resolves with what `check` resolves to once it is neither false nor undefined, polling every 10 ms; rejects with `what` after `timeoutMs`. */
export const eventually = async <T>(
  check: () => Promise<T | false | undefined>,
  what: string,
  timeoutMs = waitTimeoutMs,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== false && value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
