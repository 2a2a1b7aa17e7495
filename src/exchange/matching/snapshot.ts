import { createHash } from 'node:crypto';
import { assert, fail } from './assert.ts';
import { isValidOrderId, isValidPrice, isValidQuantity } from './command-checks.ts';
import type { BookLimits, BookSnapshot, RestingOrder, Side, StpMode } from './types.ts';

/**
 * SHA-256 (hex) of a canonical binary form of the snapshot: section lengths, then every field of
 * every resting order in priority order, then the retired ids ascending. Both books hash their
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
  out.number(snapshot.retiredOrderIds.length);
  for (const orderId of snapshot.retiredOrderIds) out.number(orderId);
  return out.digest();
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
    this.numbers[this.count++] = value;
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
  assert(snapshot.version === 1, `unsupported snapshot version ${snapshot.version}`);
  assert(Number.isSafeInteger(snapshot.lastSeq) && snapshot.lastSeq >= -1, 'snapshot lastSeq');
  const ids = new Set<number>();
  assertSide(snapshot.bids, 'buy', ids);
  assertSide(snapshot.asks, 'sell', ids);
  const resting = snapshot.bids.length + snapshot.asks.length;
  assert(resting <= limits.restingOrdersMax, `snapshot holds ${resting} orders, above restingOrdersMax`);
  const known = resting + snapshot.retiredOrderIds.length;
  assert(known <= limits.sessionOrderIdsMax, `snapshot holds ${known} order ids, above sessionOrderIdsMax`);
  const bestBid = snapshot.bids[0];
  const bestAsk = snapshot.asks[0];
  if (bestBid && bestAsk) assert(bestBid.priceTicks < bestAsk.priceTicks, 'snapshot book is crossed');
  let previous = -1;
  for (const orderId of snapshot.retiredOrderIds) {
    if (!isValidOrderId(orderId) || orderId <= previous) fail(`retired ids must ascend at ${orderId}`);
    if (ids.has(orderId)) fail(`order ${orderId} both rests and is retired`);
    previous = orderId;
  }
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
