/**
 * Owns the logging contract: the subset of pino's API the relay calls, so a
 * pino logger (or any object with these four methods) plugs in as it is.
 */
export interface Logger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
}

const ignore = (): void => {}

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore }
