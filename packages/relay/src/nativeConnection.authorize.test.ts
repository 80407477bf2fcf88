import { closeCodes } from '@concord/protocol'
import { afterEach, expect, it } from 'vitest'
import { MemoryDocStore } from './memoryDocStore.js'
import type { RelayObserver } from './relayObserver.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, type TestRelay } from './test/relayHarness.js'

let relay: TestRelay | undefined
const clients: NativeTestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.close()
  await relay?.close()
  relay = undefined
})

const connect = async (): Promise<NativeTestClient> => {
  const client = await NativeTestClient.connect(relay!.url)
  clients.push(client)
  return client
}

it('closes with 4500 (never an unhandled rejection) when a frame that waited for authorization fails to deliver', async () => {
  // An app's observer that throws is the one way a non-protocol error reaches delivery from outside:
  // armed, it throws on the relay's large sync step 2 that answers the late reader's waiting step 1.
  let armed = false
  let received = 0
  let waitingFrameArrived: () => void = () => {}
  const observer: RelayObserver = {
    messageReceived: () => {
      if (armed && ++received === 2) waitingFrameArrived()
    },
    messageSent: (_mode, bytes) => {
      if (armed && bytes > 1_000) throw new Error('the observer broke')
    },
  }
  relay = await startRelay({
    store: new MemoryDocStore(),
    observer,
    // The late reader's authorization answers only once its sync step 1 (its second frame) is in, so that frame waits.
    authenticate: async () => {
      if (armed) await new Promise<void>((resolve) => (waitingFrameArrived = resolve))
      return { access: 'write' }
    },
  })
  const writer = await connect()
  const { doc } = writer.open('doc')
  await writer.whenSynced('doc')
  doc.getText('t').insert(0, 'x'.repeat(2_000))
  await writer.whenAcked('doc')

  armed = true
  const reader = await connect()
  reader.open('doc')
  expect(await reader.whenClosed()).toEqual({ code: closeCodes.internalError, reason: 'unexpected error in the relay' })
})
