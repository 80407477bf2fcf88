/**
 * Owns calling a user's hook so that it cannot hold up the relay: whatever
 * it returns or throws, synchronously or not, settles within a timeout.
 */
export class HookTimeoutError extends Error {
  override readonly name = 'HookTimeoutError'
  readonly code = 'hookTimeout'
}

/** Resolves with what `hook()` resolves with; rejects with its error, or a HookTimeoutError after `timeoutMs`. */
export const callHook = async <T>(name: string, hook: () => T | Promise<T>, timeoutMs: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HookTimeoutError(`${name} did not settle within ${timeoutMs} ms`)), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([Promise.resolve().then(hook), timeout])
  } finally {
    clearTimeout(timer)
  }
}
