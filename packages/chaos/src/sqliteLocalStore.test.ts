import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeLocalStore } from '@concord/client/testing'
import { SqliteLocalStore } from './sqliteLocalStore.js'

let dir: string | undefined
let last: SqliteLocalStore | undefined

describeLocalStore('SqliteLocalStore', {
  create: async () => {
    dir = await mkdtemp(join(tmpdir(), 'concord-local-store-'))
    return (last = new SqliteLocalStore(join(dir, 'store.sqlite')))
  },
  reopen: async () => {
    await last?.close()
    return (last = new SqliteLocalStore(join(dir!, 'store.sqlite')))
  },
  cleanup: async () => {
    await last?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = last = undefined
  },
})
