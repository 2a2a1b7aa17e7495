/*
 * The sequencer bench's snapshot thread (started through exchange-sequencer-snapshots.mjs): a
 * snapshotLoop on the trial's data directory that reads the durable seq from shared memory, as the
 * server's projector worker does. Posts 'ready' once stepping, 'snapshot' for each file written and
 * 'error' for a failed step; on any message from the bench it stops and posts 'stopped'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { projectorLimits } from '../src/exchange/projector/limits.ts';
import { readSeq, sharedSlot } from '../src/exchange/projector/thread-protocol.ts';
import { snapshotLoop } from '../src/exchange/sequencer/index.ts';

export interface SnapshotThreadData {
  dir: string;
  everyCommands: number;
  /** SharedArrayBuffer of BigInt64 slots; the bench writes the durable seq to sharedSlot.durableSeq. */
  shared: SharedArrayBuffer;
}

export type FromSnapshotThread =
  | { type: 'ready' }
  | { type: 'snapshot'; seq: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

const port = parentPort!;
const data = workerData as SnapshotThreadData;
const shared = new BigInt64Array(data.shared);
const post = (message: FromSnapshotThread) => port.postMessage(message);
const loop = snapshotLoop({
  dir: data.dir,
  everyCommands: data.everyCommands,
  durableSeq: () => readSeq(shared, sharedSlot.durableSeq),
  pollIntervalMs: projectorLimits.pollIntervalMs,
  retryDelayMs: projectorLimits.retryDelayMs,
  onSnapshot: (seq) => post({ type: 'snapshot', seq }),
  onError: (error) => post({ type: 'error', message: String(error) }),
});
loop.start();
port.once('message', async () => {
  await loop.stop();
  post({ type: 'stopped' });
  port.close();
});
post({ type: 'ready' });
