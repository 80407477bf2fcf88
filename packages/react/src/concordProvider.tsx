/**
 * Owns the client a React tree syncs through: `ConcordProvider` hands it
 * (and its document registry) to the hooks below it, and, when it made the
 * client from options, destroys it after it unmounts for good.
 *
 * "For good": StrictMode unmounts and mounts every effect once more, and
 * React 19's Activity does the same to hidden trees, so the destroy waits a
 * macrotask and is called off by a mount in the meantime. The client is made
 * on first use rather than in a state initializer, and the two renders of
 * StrictMode's first mount share it through their props (React 18 keeps no
 * state between them): an extra client would open an extra socket.
 */
import { createClient, type ClientOptions, type ConcordClient } from '@concord/client'
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react'
import { forgetRegistry, registryOf, type DocumentRegistry, type DocumentRegistryOptions } from './documentRegistry.js'

export interface ConcordContextValue {
  readonly client: ConcordClient
  readonly registry: DocumentRegistry
}

const ConcordContext = createContext<ConcordContextValue | undefined>(undefined)

export type ConcordProviderProps = DocumentRegistryOptions & {
  readonly children?: ReactNode
} & (
    | {
        /** A client the app made and destroys itself. */
        readonly client: ConcordClient
        readonly options?: undefined
      }
    | {
        /**
         * The options of a client for the provider to make, and to destroy
         * once it unmounts. Read once: to make a new client, give the
         * provider a new `key`.
         */
        readonly options: ClientOptions
        readonly client?: undefined
      }
  )

/** A client made on first use and destroyed a macrotask after its provider's last unmount. */
class OwnedClient {
  readonly #options: ClientOptions
  #client: ConcordClient | undefined
  #mounts = 0
  /** A mount happened: from now on a provider rendered with the same options makes its own client. */
  everMounted = false
  #destroyed = false
  #destroyTimer: ReturnType<typeof setTimeout> | undefined

  constructor(options: ClientOptions) {
    this.#options = options
  }

  get client(): ConcordClient {
    this.#client ??= createClient(this.#options)
    return this.#client
  }

  /** A mount of the provider's effect; false if the client was destroyed meanwhile (a tree shown again). */
  mounted(): boolean {
    this.#mounts++
    this.everMounted = true
    clearTimeout(this.#destroyTimer)
    this.#destroyTimer = undefined
    const destroyed = this.#destroyed
    this.#destroyed = false
    return !destroyed
  }

  unmounted(): void {
    this.#mounts--
    if (this.#mounts > 0) return
    this.#destroyTimer = setTimeout(() => {
      const client = this.#client
      this.#client = undefined
      if (!client) return
      this.#destroyed = true
      forgetRegistry(client)
      // Errors of a destroy are the client's 'error' events; nothing is left to reject here.
      client.destroy().catch(() => {})
    })
  }
}

/** Clients not yet mounted, by the options they were made from: what the renders of one first mount share. */
const unmountedClients = new WeakMap<ClientOptions, OwnedClient>()

const ownedClientFor = (options: ClientOptions): OwnedClient => {
  let owned = unmountedClients.get(options)
  if (!owned || owned.everMounted) {
    owned = new OwnedClient(options)
    unmountedClients.set(options, owned)
  }
  return owned
}

export const ConcordProvider = (props: ConcordProviderProps): ReactNode => {
  const { children, client: givenClient, options, closeDelayMs } = props
  const [owned] = useState(() => (givenClient ? undefined : ownedClientFor(options!)))
  // A tree shown again after its client was destroyed renders once more with a new one.
  const [, setGeneration] = useState(0)
  useEffect(() => {
    if (!owned) return
    if (!owned.mounted()) setGeneration((generation) => generation + 1)
    return () => owned.unmounted()
  }, [owned])
  const client = givenClient ?? owned!.client
  const registry = registryOf(client, closeDelayMs === undefined ? {} : { closeDelayMs })
  const value = useMemo(() => ({ client, registry }), [client, registry])
  return <ConcordContext.Provider value={value}>{children}</ConcordContext.Provider>
}

/** The provider's client and registry; throws outside a `ConcordProvider`. */
export const useConcordContext = (): ConcordContextValue => {
  const value = useContext(ConcordContext)
  if (!value) throw new Error('@concord/react: this hook needs a <ConcordProvider> above it')
  return value
}

/** The client of the nearest `ConcordProvider`. */
export const useConcordClient = (): ConcordClient => useConcordContext().client
