/**
 * Owns `concord-relay healthcheck`: asks the relay that runs beside it
 * whether it is alive, at the address that relay wrote to its address file,
 * and exits 0 (healthy) or 1 (not). For Docker's HEALTHCHECK, which cannot
 * know a port given as a flag after the image name or in a config file.
 */
import { parseArgs } from 'node:util'
import { readAddressFile } from './addressFile.js'

export const healthcheckUsage = `Usage: concord-relay healthcheck [--address-file <file>]

  Asks the relay that wrote <file> (--address-file, or CONCORD_ADDRESS_FILE) for GET /healthz
  and exits 0 when it answers 200 within 3 s, 1 otherwise.`

const timeoutMs = 3_000

/** Resolves with the exit code; says why on stderr when the relay is not healthy. */
export const runHealthcheck = async (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => {
  let path: string | undefined
  try {
    const { values } = parseArgs({ args: [...argv], options: { 'address-file': { type: 'string' } }, strict: true })
    path = values['address-file'] ?? env.CONCORD_ADDRESS_FILE
    if (path === undefined) throw new Error('no address file: give --address-file or CONCORD_ADDRESS_FILE')
  } catch (error) {
    console.error(`concord-relay healthcheck: ${(error as Error).message}\n\n${healthcheckUsage}`)
    return 2
  }
  try {
    const { healthz } = readAddressFile(path)
    const response = await fetch(healthz, { signal: AbortSignal.timeout(timeoutMs) })
    if (response.ok) return 0
    console.error(`concord-relay healthcheck: ${healthz} answered ${response.status}`)
  } catch (error) {
    console.error(`concord-relay healthcheck: ${(error as Error).message}`)
  }
  return 1
}
