/**
 * The Hocuspocus server under test: @hocuspocus/server 3.4.4 as its README
 * starts it, in memory, on a free loopback port, quiet. With a file in
 * BENCH_SNAPSHOT, its onLoadDocument hook applies that Yjs update to every
 * document it loads (the join storm's "must load" case), as a database
 * extension would. Prints its address.
 */
import { readFileSync } from 'node:fs'
import { Server } from '@hocuspocus/server'
import * as Y from 'yjs'

const snapshotFile = process.env.BENCH_SNAPSHOT
const server = new Server({
  port: 0,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
  ...(snapshotFile
    ? {
        onLoadDocument: async ({ document }: { document: Y.Doc }) => {
          Y.applyUpdate(document, readFileSync(snapshotFile))
        },
      }
    : {}),
})
await server.listen()
process.stdout.write(`listening on ws://127.0.0.1:${server.address.port}\n`)
