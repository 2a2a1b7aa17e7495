/*
 * The projector's worker thread (started by ProjectorThread through worker-entry.mjs): runs the
 * ExecutionsProjector on its own event loop with its own small pool, so journal replay, row
 * building and the PostgreSQL round trips never take time from order entry on the main thread.
 * With snapshotEveryCommands it also runs the SnapshotFollower that writes the exchange's snapshots,
 * on its own timer once the projector has opened: from then on a failing database does not hold
 * snapshots back, nor a failing disk the projector. A worker whose projector cannot open ends and
 * writes no snapshots: at the exchange's start that fails the start (ProjectorThread.open rejects);
 * a worker restarted after dying is restarted again, with back-off, until one opens.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../../platform/errors.ts';
import { createPool } from '../../platform/sql/pool.ts';
import { snapshotLoop } from '../sequencer/index.ts';
import { projectorLimits } from './limits.ts';
import { ExecutionsProjector } from './projector.ts';
import {
  errorData,
  type FromWorker,
  type LogLevel,
  type ProjectorWorkerData,
  readSeq,
  sharedSlot,
  type ToWorker,
  writeSeq,
} from './thread-protocol.ts';

assert(parentPort, 'the projector worker runs only as a worker thread');
const port = parentPort;
const data = workerData as ProjectorWorkerData;
const shared = new BigInt64Array(data.shared);
const pool = createPool(data.databaseUrl, projectorLimits.threadPoolConnectionsMax);
let poolEnded = false;

const post = (message: FromWorker) => port.postMessage(message);

const log = (level: LogLevel, fields: Record<string, unknown>, message: string) => {
  const { err, ...rest } = fields;
  post({ type: 'log', level, fields: err === undefined ? rest : { ...rest, err: errorData(err) }, message });
};

const opening = open();
let stopRequested = false;
const snapshots = snapshotLoop({
  dir: data.dir,
  everyCommands: data.snapshotEveryCommands ?? 0,
  durableSeq: () => readSeq(shared, sharedSlot.durableSeq),
  ...(data.bookLimits === undefined ? {} : { bookLimits: data.bookLimits }),
  pollIntervalMs: data.pollIntervalMs ?? projectorLimits.pollIntervalMs,
  retryDelayMs: projectorLimits.retryDelayMs,
  onSnapshot: (seq) => log('info', { seq }, 'exchange snapshot written'),
  onError: (error) =>
    log(
      'error',
      { err: error },
      'exchange snapshot failed; retrying (recovery replays a longer journal tail meanwhile)',
    ),
});

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      void opening.then((projector) => {
        projector?.start();
        if (projector) snapshots.start();
      });
      return;
    case 'wake':
      void opening.then((projector) => projector?.wake());
      return;
    case 'stop':
      if (stopRequested) return;
      stopRequested = true;
      void stop();
      return;
    default: {
      const unknown: never = message;
      throw new Error(`unknown message to the projector worker: ${JSON.stringify(unknown)}`);
    }
  }
});

/** Opens the projector and catches up to the durable seq; on failure reports it and lets the thread end. */
async function open(): Promise<ExecutionsProjector | undefined> {
  try {
    const projector = await ExecutionsProjector.open({
      pool,
      dir: data.dir,
      ...(data.name === undefined ? {} : { name: data.name }),
      ...(data.pollIntervalMs === undefined ? {} : { pollIntervalMs: data.pollIntervalMs }),
      ...(data.batchRecordsMax === undefined ? {} : { batchRecordsMax: data.batchRecordsMax }),
      ...(data.batchRowsMax === undefined ? {} : { batchRowsMax: data.batchRowsMax }),
      ...(data.bookLimits === undefined ? {} : { bookLimits: data.bookLimits }),
      durableSeq: () => readSeq(shared, sharedSlot.durableSeq),
      onCommitted: (seq) => {
        writeSeq(shared, sharedSlot.appliedSeq, seq);
        post({ type: 'committed', seq });
      },
      logger: { error: (fields, message) => log('error', fields, message) },
    });
    writeSeq(shared, sharedSlot.appliedSeq, projector.appliedSeq);
    await projector.catchUp();
    post({ type: 'opened', appliedSeq: projector.appliedSeq });
    return projector;
  } catch (error) {
    post({ type: 'failed', error: errorData(error) });
    await endPool();
    port.close();
    return undefined;
  }
}

async function stop(): Promise<void> {
  const projector = await opening;
  await Promise.all([projector?.stop(), snapshots.stop()]);
  await endPool();
  post({ type: 'stopped' });
  port.close();
}

async function endPool(): Promise<void> {
  if (poolEnded) return;
  poolEnded = true;
  await pool
    .end()
    .catch((error: unknown) => log('warn', { err: error }, 'closing the projector pool failed'));
}
