import { createHash } from 'node:crypto';
import { assert, fail } from './assert.ts';
import { isValidOrderId, isValidPrice, isValidQuantity } from './command-checks.ts';
import { idCount, idRanges, rangesHold } from './id-ranges.ts';
import type { BookLimits, BookSnapshot, RestingOrder, Side, StoredBookSnapshot, StpMode } from './types.ts';

/**
 * SHA-256 (hex) of a canonical binary form of the snapshot: the format version and lastSeq, section
 * lengths, every field of every resting order in priority order, then the retired id ranges. Both books hash their
 * snapshot, so equal states give equal hashes whatever the data structures behind them. Binary
 * rather than text: formatting numbers as strings costs more than the hash itself.
 */
export function hashSnapshot(snapshot: BookSnapshot): string {
  const out = new HashWriter();
  out.text(`kinyu-order-book-v${snapshot.version}`);
  out.number(snapshot.lastSeq);
  for (const orders of [snapshot.bids, snapshot.asks]) {
    out.number(orders.length);
    for (const o of orders) writeOrder(out, o);
  }
  out.number(snapshot.retiredOrderIdRanges.length);
  for (const bound of snapshot.retiredOrderIdRanges) out.number(bound);
  return out.digest();
}

/**
 * A stored snapshot in the current version: a version-1 list of retired ids becomes ranges, so a
 * book restored from an older snapshot file is the same book (and hash) as one built by replay.
 */
export function currentSnapshot(snapshot: StoredBookSnapshot): BookSnapshot {
  if (snapshot.version === 2) return snapshot;
  if (snapshot.version !== 1)
    fail(`unsupported snapshot version ${(snapshot as { version: unknown }).version}`);
  const { retiredOrderIds, ...rest } = snapshot;
  if (!Array.isArray(retiredOrderIds)) fail('snapshot has no retiredOrderIds');
  for (const orderId of retiredOrderIds) if (!isValidOrderId(orderId)) fail(`bad retired id ${orderId}`);
  return { ...rest, version: 2, retiredOrderIdRanges: idRanges(retiredOrderIds) };
}

const stpCodes: Record<StpMode, number> = { none: 0, cancel_newest: 1, cancel_oldest: 2, cancel_both: 3 };

function writeOrder(out: HashWriter, o: RestingOrder): void {
  out.number(o.orderId);
  out.number(o.priceTicks);
  out.number(o.quantityLots);
  // One number for side, time in force, post-only and STP mode.
  out.number(
    (o.side === 'sell' ? 1 : 0) |
      (o.timeInForce === 'DAY' ? 2 : 0) |
      (o.postOnly ? 4 : 0) |
      (stpCodes[o.stp] << 3),
  );
  out.text(o.account);
}

// Numbers buffered before they are fed to the hash (64 KB).
const hashBufferNumbers = 8192;
// The canonical form is little-endian float64; every platform Node supports is little-endian.
assert(
  new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f,
  'stateHash assumes a little-endian platform',
);

// Shared by every HashWriter: hashing is synchronous, so one writer uses it at a time.
const scratchNumbers = new Float64Array(hashBufferNumbers);
const scratchBytes = new Uint8Array(scratchNumbers.buffer);

/**
 * Writes everything as float64 (integers are exact in it) into a typed array that feeds SHA-256
 * in batches; strings as their length and UTF-16 code units.
 */
class HashWriter {
  private readonly hash = createHash('sha256');
  private readonly numbers = scratchNumbers;
  private readonly bytes = scratchBytes;
  private count = 0;

  number(value: number): void {
    if (this.count === hashBufferNumbers) this.flush();
    // `+ 0` turns -0 into 0 (and leaves every other value as it is). A -0 price or id passes the
    // checks, and its float64 bits differ from 0's, but a snapshot (JSON) stores it as 0: without
    // this, books restored from a snapshot would hash differently from the live ones.
    this.numbers[this.count++] = value + 0;
  }

  text(value: string): void {
    this.number(value.length);
    for (let i = 0; i < value.length; i++) this.number(value.charCodeAt(i));
  }

  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    this.hash.update(this.bytes.subarray(0, this.count * 8));
    this.count = 0;
  }
}

/** Asserts that a snapshot describes a valid book (restore refuses corrupt data loudly). */
export function assertValidSnapshot(snapshot: BookSnapshot, limits: BookLimits): void {
  assert(snapshot.version === 2, `unsupported snapshot version ${snapshot.version}`);
  assert(Number.isSafeInteger(snapshot.lastSeq) && snapshot.lastSeq >= -1, 'snapshot lastSeq');
  const ids = new Set<number>();
  assertSide(snapshot.bids, 'buy', ids);
  assertSide(snapshot.asks, 'sell', ids);
  const resting = snapshot.bids.length + snapshot.asks.length;
  assert(resting <= limits.restingOrdersMax, `snapshot holds ${resting} orders, above restingOrdersMax`);
  const ranges = snapshot.retiredOrderIdRanges;
  if (!Array.isArray(ranges) || ranges.length % 2 !== 0) fail('retired id ranges must come in pairs');
  let previousTo = -2;
  for (let i = 0; i < ranges.length; i += 2) {
    const from = ranges[i]!;
    const to = ranges[i + 1]!;
    if (!isValidOrderId(from) || !isValidOrderId(to) || from > to || from <= previousTo + 1) {
      fail(`retired id ranges must ascend without touching at ${from}–${to}`);
    }
    previousTo = to;
  }
  const known = resting + idCount(ranges);
  assert(known <= limits.sessionOrderIdsMax, `snapshot holds ${known} order ids, above sessionOrderIdsMax`);
  const bestBid = snapshot.bids[0];
  const bestAsk = snapshot.asks[0];
  if (bestBid && bestAsk) assert(bestBid.priceTicks < bestAsk.priceTicks, 'snapshot book is crossed');
  for (const orderId of ids)
    if (rangesHold(ranges, orderId)) fail(`order ${orderId} both rests and is retired`);
}

function assertSide(orders: RestingOrder[], side: Side, ids: Set<number>): void {
  const direction = side === 'buy' ? -1 : 1;
  let previousPrice: number | undefined;
  for (const o of orders) {
    // fail() rather than assert(): the messages are only built when a check fails.
    if (o.side !== side) fail(`order ${o.orderId} is on the wrong side`);
    if (!isValidOrderId(o.orderId) || ids.has(o.orderId)) fail(`bad or duplicate order id ${o.orderId}`);
    if (!isValidPrice(o.priceTicks) || !isValidQuantity(o.quantityLots)) fail(`order ${o.orderId} price/qty`);
    if (o.timeInForce !== 'GTC' && o.timeInForce !== 'DAY') fail(`order ${o.orderId} cannot rest`);
    if (stpCodes[o.stp] === undefined) fail(`order ${o.orderId} has STP mode ${o.stp}`);
    if (typeof o.account !== 'string' || typeof o.postOnly !== 'boolean') fail(`order ${o.orderId} fields`);
    if (previousPrice !== undefined && (o.priceTicks - previousPrice) * direction < 0) {
      fail(`${side} side not sorted at ${o.orderId}`);
    }
    previousPrice = o.priceTicks;
    ids.add(o.orderId);
  }
}
