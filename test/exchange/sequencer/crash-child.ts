/*
 * Child process of crash.e2e.test.ts: sequences the seeded workload in 'batch' mode with many
 * commands in flight and prints `ack <seq>` once each is durable, until it is killed.
 * Usage: node --import tsx crash-child.ts <dir> <seed> <snapshotEveryCommands>
 */
import { Sequencer } from '../../../src/exchange/sequencer/index.ts';
import { workload } from './workload.ts';

const [dir, seedText, snapshotText] = process.argv.slice(2);
const inFlightMax = 500;
const commandsMax = 1_000_000;

const sequencer = await Sequencer.open(dir!, {
  durability: 'batch',
  snapshotEveryCommands: Number(snapshotText),
});
const items = workload(Number(seedText));
let inFlight = 0;
let submitted = 0;

// stdout to a pipe is synchronous on Linux, so a printed ack is out before the next one is made.
function pump(): void {
  while (inFlight < inFlightMax && submitted < commandsMax) {
    const item = items.next().value!;
    inFlight++;
    submitted++;
    sequencer.submit(item.symbol, item.command).then(
      (result) => {
        process.stdout.write(`ack ${result.seq}\n`);
        inFlight--;
        setImmediate(pump);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  }
}

process.stdout.write('ready\n');
pump();
