import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BookSet,
  type JournalRecord,
  journalFileName,
  Sequencer,
  scanJournal,
  verifyDataDirectory,
} from '../../../src/exchange/sequencer/index.ts';
import { useTempDirs } from './temp-dir.ts';
import { takeWorkload, workloadSeed } from './workload.ts';

const tempDir = useTempDirs();
const seed = workloadSeed;
const childScript = join(import.meta.dirname, 'crash-child.ts');

/** Runs the child until it has acknowledged at least `acksBeforeKill` commands, then SIGKILLs it. */
function runAndKill(dir: string, acksBeforeKill: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, String(seed), '1000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let buffered = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
      }
      if (!killed && acked.length >= acksBeforeKill) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`child exited with ${code} before the kill: ${stderr}`));
    });
  });
}

function readJournal(dir: string): JournalRecord[] {
  const records: JournalRecord[] = [];
  scanJournal(join(dir, journalFileName), { fromOffset: 0, firstSeq: 1 }, (r) => records.push(r));
  return records;
}

describe(`crash during a burst (SEQUENCER_SEED=${seed})`, () => {
  it('keeps every acknowledged command and recovers the same state as a fresh replay', async () => {
    const dir = tempDir();
    const acked = await runAndKill(dir, 3000 + (seed % 4000));
    expect(acked.length).toBeGreaterThanOrEqual(3000);
    const maxAcked = Math.max(...acked);

    const sequencer = await Sequencer.open(dir, { snapshotEveryCommands: 0 });
    const recovered = sequencer.recovery;
    // The journal is gap-free from 1, so every acknowledged seq is present iff the last one is.
    expect(sequencer.lastSeq).toBeGreaterThanOrEqual(maxAcked);
    expect(recovered.snapshotSeq).not.toBeNull();
    const recoveredHash = sequencer.stateHash();
    await sequencer.close();

    // The journal holds exactly the child's commands, in order.
    const records = readJournal(dir);
    expect(records).toHaveLength(sequencer.lastSeq);
    const items = takeWorkload(seed, records.length);
    const fresh = new BookSet();
    records.forEach((record, i) => {
      expect(record.seq).toBe(i + 1);
      expect(record.symbol).toBe(items[i]!.symbol);
      expect(record.command).toEqual(JSON.parse(JSON.stringify({ ...items[i]!.command, seq: i + 1 })));
      fresh.apply(record.symbol, record.command);
    });
    expect(recoveredHash).toBe(fresh.stateHash());

    const report = verifyDataDirectory(dir);
    expect(report).toMatchObject({
      commands: records.length,
      lastSeq: records.length,
      stateHash: recoveredHash,
      tail: { kind: 'clean' },
      match: true,
    });
    console.log(
      `crash test: ${acked.length} acked (max ${maxAcked}), recovered ${records.length}, snapshot ${recovered.snapshotSeq}, truncated ${recovered.truncatedBytes} bytes`,
    );
  });
});
