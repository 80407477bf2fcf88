/** Owns the error of a configuration that cannot be right: the CLI prints its message and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'invalidConfig'
}
