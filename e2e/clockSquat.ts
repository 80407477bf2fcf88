/**
 * Owns the clock squat as a hostile writer does it: it reads a person's
 * client id from the presence the relay shows every reader, and the
 * document's state (whose state vector holds that person's next clock), and
 * writes content of its own under that client id at those clocks. The relay
 * keeps what it got first, so the person's own edits at those clocks, made
 * offline meanwhile, are refused when they arrive (4422): their client forks
 * (packages/client/src/clockFork.ts).
 */
import type { Browser, Page } from '@playwright/test'
import * as Y from 'yjs'
import { HostileWriter } from './hostileWriter.js'
import { openDocumentId } from './people.js'

/** The client id of the person present as `name`, as the relay tells `writer`; waits until they are present. */
export const clientIdOf = async (writer: HostileWriter, name: string, timeout = 10_000): Promise<number> => {
  const deadline = Date.now() + timeout
  for (;;) {
    const states = await writer.presentStates(Math.max(1, deadline - Date.now()))
    for (const [clientId, state] of states) {
      const user = state.user as { name?: unknown } | undefined
      if (user?.name === name) return clientId
    }
    if (Date.now() > deadline) throw new Error(`${name} is not present`)
    await writer.nextFrame(Math.max(1, deadline - Date.now()))
  }
}

/**
 * Writes `change` under `victim`'s client id at its next clocks as the relay
 * knows them, and sends it through `writer`. Returns the first clock taken.
 */
export const squatClocks = async (
  writer: HostileWriter,
  victim: number,
  change: (doc: Y.Doc) => void,
): Promise<number> => {
  const doc = await writer.readDocument()
  const before = Y.encodeStateVector(doc)
  const clock = Y.getState(doc.store, victim)
  doc.clientID = victim
  doc.transact(() => change(doc))
  await writer.sendUpdate(Y.encodeStateAsUpdate(doc, before))
  return clock
}

/**
 * A squatter on the document open in `page`, served by the relay at `relayUrl`, that has read the
 * client id of the person present as `name` there, as any reader can.
 */
export const squatterOn = async (
  browser: Browser,
  relayUrl: string,
  page: Page,
  name: string,
): Promise<{ readonly squatter: HostileWriter; readonly victim: number }> => {
  const squatter = await HostileWriter.connect(browser, relayUrl, openDocumentId(page))
  return { squatter, victim: await clientIdOf(squatter, name) }
}
