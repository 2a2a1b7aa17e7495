import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeWorkload,
  runWorkloadReport,
  type Workload,
} from '../../../src/exchange/matching/bench-workload.ts';
import { FastOrderBook, type OrderBook, ReferenceOrderBook } from '../../../src/exchange/matching/index.ts';

/*
 * Peer consensus: replaying the cross-engine workloads must give, byte for byte, the report text
 * hundreds of other engines agree on (its SHA-256 is in expected-sha256.txt). The data lives in the
 * shared directory next to the repo (KINYU_SHARED_DIR overrides it); without it this test fails
 * rather than skips, because an engine that was never checked must not look green.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sharedDir = process.env.KINYU_SHARED_DIR ?? path.resolve(repoRoot, '../shared');
const benchDir = path.resolve(sharedDir, 'data/matching-bench');

const scenarios = [
  { name: 'normal', file: 'orders_normal_s23_n1000000.bin.gz', messages: 1_996_097 },
  { name: 'flash-crash', file: 'orders_flash-crash_s23_n1000000.bin.gz', messages: 1_996_097 },
];

function expectedHash(scenario: string): string {
  const file = path.join(benchDir, 'expected-sha256.txt');
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.trim().endsWith(` ${scenario}_seed23_count1000000_reports.txt`));
  if (!line) throw new Error(`no expected hash for ${scenario} in ${file}`);
  return line.trim().split(/\s+/)[0]!;
}

function loadWorkload(file: string): Workload {
  const workloadFile = path.join(benchDir, file);
  if (!existsSync(workloadFile)) {
    throw new Error(
      `peer-consensus data missing: ${workloadFile} not found. Put the shared directory next to the repo ` +
        `(../shared) or set KINYU_SHARED_DIR to it.`,
    );
  }
  return decodeWorkload(gunzipSync(readFileSync(workloadFile)));
}

function reportHash(workload: Workload, book: OrderBook): string {
  const hash = createHash('sha256');
  runWorkloadReport(workload, book, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

/** The first `count` messages of a workload. */
function prefix(w: Workload, count: number): Workload {
  return {
    count,
    kinds: w.kinds.subarray(0, count),
    sides: w.sides.subarray(0, count),
    iocs: w.iocs.subarray(0, count),
    quantities: w.quantities.subarray(0, count),
    seqs: w.seqs.subarray(0, count),
    orderIds: w.orderIds.subarray(0, count),
    prices: w.prices.subarray(0, count),
  };
}

describe('peer consensus on the cross-engine matching workloads', () => {
  for (const scenario of scenarios) {
    it(`${scenario.name}: FastOrderBook's report SHA-256 matches expected-sha256.txt`, () => {
      const workload = loadWorkload(scenario.file);
      expect(workload.count).toBe(scenario.messages);
      const book = new FastOrderBook();
      expect(reportHash(workload, book)).toBe(expectedHash(scenario.name));
      book.assertInvariants();
    });

    it(`${scenario.name}: ReferenceOrderBook gives the same report on the first 100,000 messages`, () => {
      const head = prefix(loadWorkload(scenario.file), 100_000);
      const reference = new ReferenceOrderBook();
      const fast = new FastOrderBook();
      expect(reportHash(head, reference)).toBe(reportHash(head, fast));
      expect(fast.stateHash()).toBe(reference.stateHash());
    });
  }
});
