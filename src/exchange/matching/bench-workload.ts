import { assert, fail } from './assert.ts';
import type {
  BookCommand,
  CancelCommand,
  CancelReason,
  EventSink,
  NewOrderCommand,
  OrderBook,
  RejectReason,
  ReplaceCommand,
  Side,
} from './types.ts';

/*
 * The cross-engine workload format (../shared/data/matching-bench/README.md) and the report text
 * whose SHA-256 the peer engines agree on. Used by the peer-consensus test and the benchmark.
 */

const magic = 0x4d4542575f303031n; // "MEBW_001"
const headerBytes = 16;
const recordBytes = 40;
const twoTo32 = 2 ** 32;

export const workloadKinds = { new: 0, cancel: 1, modify: 2 } as const;

/** A decoded workload as columns, so replaying it reads typed arrays only. */
export interface Workload {
  count: number;
  kinds: Uint8Array;
  /** 0 buy, 1 sell. */
  sides: Uint8Array;
  iocs: Uint8Array;
  quantities: Uint32Array;
  seqs: Float64Array;
  orderIds: Float64Array;
  prices: Float64Array;
}

/** Zeroed columns for `count` workload messages. */
export function allocateWorkload(count: number): Workload {
  return {
    count,
    kinds: new Uint8Array(count),
    sides: new Uint8Array(count),
    iocs: new Uint8Array(count),
    quantities: new Uint32Array(count),
    seqs: new Float64Array(count),
    orderIds: new Float64Array(count),
    prices: new Float64Array(count),
  };
}

/** Decodes the binary workload (after gunzip); asserts the header and record sizes. */
export function decodeWorkload(bytes: Uint8Array): Workload {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert(bytes.byteLength >= headerBytes, 'workload shorter than its header');
  assert(view.getBigUint64(0, true) === magic, 'workload magic is not MEBW_001');
  assert(view.getUint32(8, true) === 1, 'workload version is not 1');
  const count = view.getUint32(12, true);
  assert(
    bytes.byteLength === headerBytes + count * recordBytes,
    `workload size does not match ${count} records`,
  );
  const w = allocateWorkload(count);
  for (let i = 0; i < count; i++) decodeRecord(view, headerBytes + i * recordBytes, i, w);
  return w;
}

function decodeRecord(view: DataView, at: number, i: number, w: Workload): void {
  const kind = view.getUint8(at);
  if (kind > workloadKinds.modify) fail(`record ${i}: kind ${kind}`);
  w.kinds[i] = kind;
  w.sides[i] = view.getUint8(at + 1);
  w.iocs[i] = view.getUint8(at + 2);
  w.quantities[i] = view.getUint32(at + 4, true);
  w.seqs[i] = readUint64(view, at + 8);
  w.orderIds[i] = readUint64(view, at + 16);
  w.prices[i] = readInt64(view, at + 24);
}

// Two 32-bit reads instead of getBigUint64: no bigint per field, and a range check for safety.
function readUint64(view: DataView, at: number): number {
  const value = view.getUint32(at + 4, true) * twoTo32 + view.getUint32(at, true);
  if (!Number.isSafeInteger(value)) fail(`u64 at byte ${at} is not a safe integer`);
  return value;
}

function readInt64(view: DataView, at: number): number {
  const value = view.getInt32(at + 4, true) * twoTo32 + view.getUint32(at, true);
  if (!Number.isSafeInteger(value)) fail(`i64 at byte ${at} is not a safe integer`);
  return value;
}

/** Reusable command objects, so replaying a workload allocates nothing per message. */
export class WorkloadCommands {
  private readonly newOrder: NewOrderCommand = {
    type: 'new',
    seq: 0,
    orderId: 0,
    account: 'anonymous',
    side: 'buy',
    orderType: 'limit',
    priceTicks: 0,
    quantityLots: 0,
    timeInForce: 'GTC',
  };
  private readonly cancel: CancelCommand = { type: 'cancel', seq: 0, orderId: 0 };
  private readonly replace: ReplaceCommand = {
    type: 'replace',
    seq: 0,
    orderId: 0,
    quantityLots: 0,
    priceTicks: 0,
  };

  constructor(private readonly workload: Workload) {}

  /**
   * The engine command for message i: NEW is a GTC or IOC limit order, CANCEL a cancel, MODIFY a
   * replace (a MODIFY never lowers the quantity at the same price, so it always loses priority, as
   * the README's cancel-and-reinsert requires). No STP: the workload is one anonymous flow.
   */
  command(i: number): BookCommand {
    const w = this.workload;
    switch (w.kinds[i]) {
      case workloadKinds.new: {
        const c = this.newOrder;
        c.seq = w.seqs[i]!;
        c.orderId = w.orderIds[i]!;
        c.side = w.sides[i] === 0 ? 'buy' : 'sell';
        c.priceTicks = w.prices[i]!;
        c.quantityLots = w.quantities[i]!;
        c.timeInForce = w.iocs[i] === 1 ? 'IOC' : 'GTC';
        return c;
      }
      case workloadKinds.cancel:
        this.cancel.seq = w.seqs[i]!;
        this.cancel.orderId = w.orderIds[i]!;
        return this.cancel;
      default:
        this.replace.seq = w.seqs[i]!;
        this.replace.orderId = w.orderIds[i]!;
        this.replace.priceTicks = w.prices[i]!;
        this.replace.quantityLots = w.quantities[i]!;
        return this.replace;
    }
  }
}

// Flush the report to its consumer (a hash) in chunks of about this many characters.
const reportChunkChars = 1 << 16;

/**
 * Writes the README's report lines from the engine's events. The MODIFY line comes after the
 * order's fills, so the `replaced` event (emitted before them) is held until the message ends.
 */
export class ReportFormatter implements EventSink {
  private text = '';
  private lines = 0;
  private kind = 0;
  private pendingReplace = '';

  constructor(private readonly write: (chunk: string) => void) {}

  /** Number of report lines written. */
  get lineCount(): number {
    return this.lines;
  }

  /** Starts a message of the given workload kind (decides how a reject is reported). */
  begin(kind: number): void {
    this.kind = kind;
  }

  /** Ends the current message: writes a held MODIFY line. */
  end(): void {
    if (this.pendingReplace === '') return;
    this.line(this.pendingReplace);
    this.pendingReplace = '';
  }

  /** Writes whatever is buffered. */
  flush(): void {
    if (this.text !== '') this.write(this.text);
    this.text = '';
  }

  accepted(
    seq: number,
    orderId: number,
    _account: string,
    side: Side,
    _orderType: string,
    priceTicks: number | null,
    quantityLots: number,
  ): void {
    this.line(`0,${seq},${sideCode(side)},${orderId},${priceTicks},${quantityLots}`);
  }

  rejected(seq: number, orderId: number, reason: RejectReason): void {
    if (this.kind === workloadKinds.new) fail(`NEW ${orderId} rejected: ${reason}`);
    this.line(`${this.kind === workloadKinds.cancel ? 4 : 5},${seq},${orderId}`);
  }

  trade(
    seq: number,
    makerOrderId: number,
    takerOrderId: number,
    priceTicks: number,
    quantityLots: number,
  ): void {
    this.line(`1,${seq},${priceTicks},${quantityLots},${makerOrderId},${takerOrderId}`);
  }

  cancelled(
    seq: number,
    orderId: number,
    _account: string,
    side: Side,
    priceTicks: number | null,
    _quantityLots: number,
    reason: CancelReason,
  ): void {
    if (reason !== 'user' && reason !== 'ioc_remainder') fail(`unexpected cancel reason ${reason}`);
    this.line(`2,${seq},${sideCode(side)},${orderId},${priceTicks}`);
  }

  replaced(
    seq: number,
    orderId: number,
    _account: string,
    side: Side,
    priceTicks: number,
    quantityLots: number,
  ): void {
    this.pendingReplace = `3,${seq},${sideCode(side)},${orderId},${priceTicks},${quantityLots}`;
  }

  expired(): void {
    fail('the workload has no session close');
  }

  private line(line: string): void {
    this.text += this.lines === 0 ? line : `\n${line}`;
    this.lines++;
    if (this.text.length >= reportChunkChars) this.flush();
  }
}

function sideCode(side: Side): number {
  return side === 'buy' ? 0 : 1;
}

/** Replays a workload through a book, writing the report text in chunks; returns the line count. */
export function runWorkloadReport(
  workload: Workload,
  book: OrderBook,
  write: (chunk: string) => void,
): number {
  const commands = new WorkloadCommands(workload);
  const formatter = new ReportFormatter(write);
  for (let i = 0; i < workload.count; i++) {
    formatter.begin(workload.kinds[i]!);
    book.applyTo(commands.command(i), formatter);
    formatter.end();
  }
  formatter.flush();
  return formatter.lineCount;
}
