/**
 * Owns the address file: where a running relay says it listens, so that a
 * health check run beside it (Docker's HEALTHCHECK, which sees neither the
 * relay's flags nor its config file) asks the port and address it really
 * serves on.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'

export interface ListenAddress {
  /** The URL to ask for liveness: the bound address, with a wildcard one replaced by loopback. */
  readonly healthz: string
  readonly pid: number
}

/** Where an HTTP client on the same machine reaches a server bound to `address`. */
const reachableHost = (address: string): string => {
  if (address === '0.0.0.0') return '127.0.0.1'
  if (address === '::') return '[::1]'
  return address.includes(':') ? `[${address}]` : address
}

export const listenAddress = (address: string, port: number): ListenAddress => ({
  healthz: `http://${reachableHost(address)}:${port}/healthz`,
  pid: process.pid,
})

/** Writes the file whole or not at all: a health check never reads half of it. */
export const writeAddressFile = (path: string, address: ListenAddress): void => {
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, JSON.stringify(address) + '\n')
  renameSync(temporary, path)
}

export const removeAddressFile = (path: string): void => rmSync(path, { force: true })

/** The address a relay wrote; throws with a readable message when there is none yet. */
export const readAddressFile = (path: string): ListenAddress => {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new Error(`no relay has written its address to ${path} yet (${(error as NodeJS.ErrnoException).code})`)
  }
  const parsed = JSON.parse(text) as Partial<ListenAddress>
  if (typeof parsed.healthz !== 'string') throw new Error(`${path} holds no address`)
  return { healthz: parsed.healthz, pid: Number(parsed.pid) }
}
