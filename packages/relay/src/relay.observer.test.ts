import { closeCodes } from '@concord/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import type { ClosedBy, RelayObserver, StoreOperation } from './relayObserver.js'
import type { WireMode } from './wireMode.js'
import { MemoryDocStore } from './memoryDocStore.js'
import { ControlledStore } from './test/controlledStore.js'
import { NativeTestClient } from './test/nativeTestClient.js'
import { startRelay, waitFor, type TestRelay } from './test/relayHarness.js'

/** An observer that writes down every call. */
class RecordingObserver implements RelayObserver {
  readonly closed: Array<[WireMode, number, ClosedBy]> = []
  readonly storeFailures: StoreOperation[] = []
  readonly acks: number[] = []
  stored = 0
  connectionClosed(mode: WireMode, code: number, by: ClosedBy): void {
    this.closed.push([mode, code, by])
  }
  storeFailed(operation: StoreOperation): void {
    this.storeFailures.push(operation)
  }
  updateStored(): void {
    this.stored++
  }
  updateAcknowledged(seconds: number): void {
    this.acks.push(seconds)
  }
}

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

describe('the relay observer', () => {
  it('hears of failed loads and appends', async () => {
    const store = new ControlledStore()
    const observer = new RecordingObserver()
    relay = await startRelay({ store, observer })
    const writer = await connect()
    const { doc } = writer.open('doc')
    await writer.whenSynced('doc')
    doc.getText('t').insert(0, 'kept')
    await writer.whenAcked('doc')
    expect(observer.stored).toBe(1)
    expect(observer.acks.every((seconds) => seconds >= 0 && seconds < 60)).toBe(true)

    store.failAppends = true
    doc.getText('t').insert(0, 'lost')
    await waitFor(() => writer.documents.get('doc')!.error !== undefined, 'the document to be refused')
    expect(writer.documents.get('doc')!.error!.code).toBe(closeCodes.documentUnavailable)
    expect(observer.storeFailures).toEqual(['append'])
    expect(observer.stored).toBe(1)

    store.failLoads = true
    const reader = await connect()
    reader.open('other')
    await waitFor(() => reader.documents.get('other')!.error !== undefined, 'the load to fail')
    expect(observer.storeFailures).toEqual(['append', 'load'])
  })

  it('hears of a connection the heartbeat dropped as closed by the relay with 1006', async () => {
    const observer = new RecordingObserver()
    relay = await startRelay({ observer, heartbeatIntervalMs: 50 })
    const silent = await connect()
    // A client that never answers pings: ws answers them itself unless the socket stops reading.
    silent.ws.pause()
    await waitFor(() => observer.closed.length === 1, 'the heartbeat to drop the connection')
    expect(observer.closed).toEqual([['native', 1006, 'relay']])
  })

  it('that throws while a frame that waited for authorization is delivered closes that connection with 4500', async () => {
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
    expect(await reader.whenClosed()).toEqual({
      code: closeCodes.internalError,
      reason: 'unexpected error in the relay',
    })
  })
})
