/**
 * Owns checking the data folder before the SQLite store opens it, so that a
 * folder the relay cannot write (a root-owned host folder mounted on /data,
 * a read-only volume) stops the start with what is wrong and how to fix it,
 * instead of SQLite's "unable to open database file".
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export class DataFolderError extends Error {
  override readonly name = 'DataFolderError'
  readonly code = 'dataFolderNotWritable'
}

/** The files SQLite writes in the folder: the database and its write-ahead log and shared memory. */
const storeFiles = ['concord.sqlite', 'concord.sqlite-wal', 'concord.sqlite-shm']

const whoAmI = (): string => {
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  return uid === undefined ? 'this process' : `uid ${uid} (gid ${gid ?? '?'})`
}

const explain = (path: string, error: NodeJS.ErrnoException, folder: string): DataFolderError => {
  const readOnly = error.code === 'EROFS'
  const problem = readOnly ? 'is on a read-only file system' : `is not writable by ${whoAmI()}`
  const fix = readOnly
    ? 'mount it read-write'
    : `make it writable by that user (for a host folder mounted into the container image, which runs as uid 1000: ` +
      `\`sudo chown -R 1000:1000 <host folder>\`), or give --data another folder`
  return new DataFolderError(`the data folder ${folder}: ${path} ${problem} (${error.code}); ${fix}`, { cause: error })
}

/** Creates `folder` if needed and checks that the store can write it and its files; throws a DataFolderError. */
export const prepareDataFolder = (folder: string): void => {
  try {
    mkdirSync(folder, { recursive: true })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw explain(folder, error as NodeJS.ErrnoException, folder)
    }
    throw error
  }
  for (const path of [folder, ...storeFiles.map((file) => join(folder, file)).filter((file) => existsSync(file))]) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK)
    } catch (error) {
      throw explain(path, error as NodeJS.ErrnoException, folder)
    }
  }
}
