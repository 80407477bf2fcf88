/**
 * Owns the relay's authorization contract: one hook, asked for every
 * document a connection opens, that answers with the access it grants or a
 * denial. The relay enforces the answer; how credentials are checked (JWTs,
 * sessions, an API) is the hook's business.
 */
import type { IncomingMessage } from 'node:http'
import type { Logger } from './logger.js'

/** `read`: receive the document and send presence; `write`: also change it. */
export type Access = 'read' | 'write'

export type AuthResult =
  | {
      readonly access: Access
      /** When the credentials expire (ms since the epoch): the relay closes the connection then (4401). */
      readonly expiresAt?: number | undefined
      /** Who this is (a JWT's `sub`), named to the `onChange` hook as a writer. */
      readonly subject?: string | undefined
    }
  | {
      /** `unauthenticated` (4401): no valid credentials; `forbidden` (4403): valid, but not for this document. */
      readonly denied: 'unauthenticated' | 'forbidden'
      readonly reason: string
    }

/**
 * Decides what a connection may do with `doc`. `token` is what the client
 * sent: the native `auth` frame, or the `token` query parameter in
 * y-websocket mode; undefined when it sent none. `request` is the upgrade
 * request (headers, address). Never log the token.
 */
export type Authenticate = (
  request: IncomingMessage,
  doc: string,
  token: string | undefined,
) => AuthResult | Promise<AuthResult>

/** The default: an open relay, where everyone may write every document. */
export const allowEveryone: Authenticate = () => ({ access: 'write' })

/** Asks `authenticate`; a hook that throws denies, and the error is logged (without the token). */
export const authorize = async (
  authenticate: Authenticate,
  request: IncomingMessage,
  doc: string,
  token: string | undefined,
  logger: Logger,
): Promise<AuthResult> => {
  try {
    return await authenticate(request, doc, token)
  } catch (error) {
    logger.error({ doc, err: error }, 'the authenticate hook threw; denying')
    return { denied: 'unauthenticated', reason: 'the relay could not check the credentials' }
  }
}

/** setTimeout cannot wait longer than this (about 24.8 days); a longer delay would fire at once. */
const maxTimerDelayMs = 2 ** 31 - 1

/** Calls `expire` at `expiresAt` (ms since the epoch), however far away that is. Returns a cancel function. */
export const atExpiry = (expiresAt: number, expire: () => void): (() => void) => {
  let timer: NodeJS.Timeout
  const wait = (): void => {
    const delay = expiresAt - Date.now()
    timer = setTimeout(delay > maxTimerDelayMs ? wait : expire, Math.max(0, Math.min(delay, maxTimerDelayMs)))
    timer.unref()
  }
  wait()
  return () => clearTimeout(timer)
}
