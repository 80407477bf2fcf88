/**
 * The load generator's process: runs one scenario's client side, given as
 * JSON on the command line, and prints its result as one JSON line. It runs
 * apart from the runner and from the server under test.
 */
import { runAckLatency, type AckLatencyTask } from './load/ackLatency.js'
import { runConnections, type ConnectionsTask } from './load/connections.js'
import { runFanout, type FanoutTask } from './load/fanout.js'
import { runJoinStorm, type JoinStormTask } from './load/joinStorm.js'
import { firstSync, runLargeDoc, type LargeDocTask } from './load/largeDoc.js'
import type { Dialect } from './wire.js'

export type LoadTask =
  | ({ readonly scenario: 'fanout' } & FanoutTask)
  | ({ readonly scenario: 'connections' } & ConnectionsTask)
  | ({ readonly scenario: 'largeDoc' } & LargeDocTask)
  | { readonly scenario: 'firstSync'; readonly url: string; readonly doc: string; readonly dialect: Dialect }
  | ({ readonly scenario: 'joinStorm' } & JoinStormTask)
  | ({ readonly scenario: 'ackLatency' } & AckLatencyTask)

const run = (task: LoadTask): Promise<unknown> => {
  switch (task.scenario) {
    case 'fanout':
      return runFanout(task)
    case 'connections':
      return runConnections(task)
    case 'largeDoc':
      return runLargeDoc(task)
    case 'firstSync':
      return firstSync(task.url, task.doc, task.dialect)
    case 'joinStorm':
      return runJoinStorm(task)
    case 'ackLatency':
      return runAckLatency(task)
  }
}

const task = JSON.parse(process.argv[2] ?? '{}') as LoadTask
process.stdout.write(`${JSON.stringify(await run(task))}\n`)
process.exit(0)
