import type {
  BookCommand,
  NewOrderCommand,
  OrderType,
  ReplaceCommand,
  Side,
  StpMode,
  TimeInForce,
} from '../matching/index.ts';
import type { CommandMeta, JournalRecord } from './journal-format.ts';

/*
 * The binary journal payload (format byte 0x01). Little-endian; numbers are float64 (every safe
 * integer exactly, and whatever else a caller passed, so a replay sees the same value); strings are
 * a length in bytes then UTF-8.
 *
 *   u8   format = 0x01
 *   f64  seq (the command's seq too)
 *   u8   flags (bits below)
 *   u8   command type: 1 new, 2 cancel, 3 replace, 4 expire_day_orders
 *   u8   symbol bytes, then the symbol
 *   new:     f64 orderId, f64 quantityLots, [f64 priceTicks], u8 side, u8 orderType,
 *            u8 timeInForce, [u8 stp], u16 account bytes, account
 *   cancel:  f64 orderId
 *   replace: f64 orderId, [f64 quantityLots], [f64 priceTicks]
 *   meta:    [f64 time, [u16 bytes + member], [u16 bytes + clientOrderId]]
 *
 * A meta with a `requestKey` (an order sent with Idempotency-Key) has no binary form: all eight flag
 * bits are taken, so such a record is journaled as JSON.
 *
 * Only what the types describe is stored; a field that is undefined is absent on decode, as with
 * JSON. A record this cannot represent exactly (an unknown enum string, a non-number quantity, a
 * string too long for its length field or with a lone surrogate, …) is journaled as JSON instead —
 * the reader takes both.
 */

export const binaryFormatByte = 0x01;

/**
 * Bytes records are encoded into or decoded from, with a DataView over the same memory: its
 * float64 accessors are an order of magnitude cheaper than Buffer's `writeDoubleLE`.
 */
export interface RecordBytes {
  readonly bytes: Buffer;
  readonly view: DataView;
}

export function recordBytes(bytes: Buffer): RecordBytes {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

const flagMeta = 0x01;
const flagMember = 0x02;
const flagClientOrderId = 0x04;
const flagPrice = 0x08;
const flagQuantity = 0x10;
const flagPostOnly = 0x20;
const flagPostOnlyTrue = 0x40;
const flagStp = 0x80;

const typeNew = 1;
const typeCancel = 2;
const typeReplace = 3;
const typeExpire = 4;

const metaFlags = flagMeta | flagMember | flagClientOrderId;
/** Flags each command type may carry; any other bit set is a malformed record. */
const allowedFlags = [
  0,
  metaFlags | flagPrice | flagPostOnly | flagPostOnlyTrue | flagStp,
  metaFlags,
  metaFlags | flagPrice | flagQuantity,
  metaFlags,
];

const sides: readonly Side[] = ['buy', 'sell'];
const orderTypes: readonly OrderType[] = ['limit', 'market'];
const timesInForce: readonly TimeInForce[] = ['GTC', 'DAY', 'IOC', 'FOK'];
const stpModes: readonly StpMode[] = ['none', 'cancel_newest', 'cancel_oldest', 'cancel_both'];

const symbolBytesMax = 0xff;
const stringBytesMax = 0xffff;
/** Bytes of everything but the strings in the largest payload (new order with meta). */
const fixedBytesMax = 1 + 8 + 1 + 1 + 1 + 8 * 3 + 4 + 2 + 8 + 2 + 2;

const stringLength = (value: unknown): number => (typeof value === 'string' ? value.length : 0);

/**
 * An upper bound of the binary payload's bytes (a UTF-16 unit is at most 3 UTF-8 bytes), cheap
 * enough for every append: how much room `encodeBinaryPayload` needs.
 */
export function binaryPayloadBound(
  symbol: string,
  command: BookCommand,
  meta: CommandMeta | undefined,
): number {
  let chars = stringLength(symbol);
  if (command.type === 'new') chars += stringLength(command.account);
  if (meta !== undefined && meta !== null)
    chars += stringLength(meta.member) + stringLength(meta.clientOrderId);
  return fixedBytesMax + 3 * chars;
}

/**
 * Writes the binary payload at `out.bytes[at]` (which must have `binaryPayloadBound` bytes of room)
 * and returns its length, or -1 when the record cannot be represented exactly (then use JSON).
 * Bytes past `at` may be written either way.
 */
export function encodeBinaryPayload(
  out: RecordBytes,
  at: number,
  seq: number,
  symbol: string,
  command: BookCommand,
  meta: CommandMeta | undefined,
): number {
  if (typeof seq !== 'number' || command.seq !== seq || typeof symbol !== 'string') return -1;
  const target = out.bytes;
  const view = out.view;
  target[at] = binaryFormatByte;
  view.setFloat64(at + 1, seq, true);
  let flags = 0;
  let pos = writeString(target, at + 11, symbol, 1, symbolBytesMax);
  if (pos < 0) return -1;
  switch (command.type) {
    case 'new': {
      target[at + 10] = typeNew;
      pos = writeNewOrder(out, pos, command);
      if (pos < 0) return -1;
      if (command.priceTicks !== undefined) flags |= flagPrice;
      if (command.postOnly !== undefined)
        flags |= command.postOnly ? flagPostOnly | flagPostOnlyTrue : flagPostOnly;
      if (command.stp !== undefined) flags |= flagStp;
      break;
    }
    case 'cancel':
      if (typeof command.orderId !== 'number') return -1;
      target[at + 10] = typeCancel;
      view.setFloat64(pos, command.orderId, true);
      pos += 8;
      break;
    case 'replace':
      target[at + 10] = typeReplace;
      pos = writeReplace(view, pos, command);
      if (pos < 0) return -1;
      if (command.quantityLots !== undefined) flags |= flagQuantity;
      if (command.priceTicks !== undefined) flags |= flagPrice;
      break;
    case 'expire_day_orders':
      target[at + 10] = typeExpire;
      break;
    default:
      return -1;
  }
  if (meta !== undefined) {
    if (meta === null || typeof meta !== 'object' || typeof meta.time !== 'number') return -1;
    // No flag is left for it: a record with a request key is journaled as JSON.
    if (meta.requestKey !== undefined) return -1;
    flags |= flagMeta;
    view.setFloat64(pos, meta.time, true);
    pos += 8;
    const { member, clientOrderId } = meta;
    if (member !== undefined) {
      if (typeof member !== 'string') return -1;
      flags |= flagMember;
      pos = writeString(target, pos, member, 2, stringBytesMax);
      if (pos < 0) return -1;
    }
    if (clientOrderId !== undefined) {
      if (typeof clientOrderId !== 'string') return -1;
      flags |= flagClientOrderId;
      pos = writeString(target, pos, clientOrderId, 2, stringBytesMax);
      if (pos < 0) return -1;
    }
  }
  target[at + 9] = flags;
  return pos - at;
}

function writeNewOrder(out: RecordBytes, at: number, command: NewOrderCommand): number {
  const { orderId, quantityLots, priceTicks, postOnly, stp } = command;
  if (typeof orderId !== 'number' || typeof quantityLots !== 'number') return -1;
  if (postOnly !== undefined && typeof postOnly !== 'boolean') return -1;
  const side = sideCode(command.side);
  const orderType = command.orderType === 'limit' ? 0 : command.orderType === 'market' ? 1 : -1;
  const timeInForce = timeInForceCode(command.timeInForce);
  const stpCode = stp === undefined ? 0 : stpModeCode(stp);
  if (side < 0 || orderType < 0 || timeInForce < 0 || stpCode < 0) return -1;
  const { bytes: target, view } = out;
  view.setFloat64(at, orderId, true);
  view.setFloat64(at + 8, quantityLots, true);
  let pos = at + 16;
  if (priceTicks !== undefined) {
    if (typeof priceTicks !== 'number') return -1;
    view.setFloat64(pos, priceTicks, true);
    pos += 8;
  }
  target[pos++] = side;
  target[pos++] = orderType;
  target[pos++] = timeInForce;
  if (stp !== undefined) target[pos++] = stpCode;
  if (typeof command.account !== 'string') return -1;
  return writeString(target, pos, command.account, 2, stringBytesMax);
}

function writeReplace(view: DataView, at: number, command: ReplaceCommand): number {
  const { orderId, quantityLots, priceTicks } = command;
  if (typeof orderId !== 'number') return -1;
  view.setFloat64(at, orderId, true);
  let pos = at + 8;
  if (quantityLots !== undefined) {
    if (typeof quantityLots !== 'number') return -1;
    view.setFloat64(pos, quantityLots, true);
    pos += 8;
  }
  if (priceTicks !== undefined) {
    if (typeof priceTicks !== 'number') return -1;
    view.setFloat64(pos, priceTicks, true);
    pos += 8;
  }
  return pos;
}

const sideCode = (side: Side): number => (side === 'buy' ? 0 : side === 'sell' ? 1 : -1);

function timeInForceCode(tif: TimeInForce): number {
  switch (tif) {
    case 'GTC':
      return 0;
    case 'DAY':
      return 1;
    case 'IOC':
      return 2;
    case 'FOK':
      return 3;
    default:
      return -1;
  }
}

function stpModeCode(stp: StpMode): number {
  switch (stp) {
    case 'none':
      return 0;
    case 'cancel_newest':
      return 1;
    case 'cancel_oldest':
      return 2;
    case 'cancel_both':
      return 3;
    default:
      return -1;
  }
}

/**
 * Writes a length prefix of `prefixBytes` and `value` as UTF-8; returns the position after it, or -1
 * when it is longer than `bytesMax` or not well-formed UTF-16. ASCII (every symbol and nearly every
 * id) is copied by a loop, which beats a native call for strings this short.
 */
function writeString(
  target: Buffer,
  at: number,
  value: string,
  prefixBytes: 1 | 2,
  bytesMax: number,
): number {
  const start = at + prefixBytes;
  let bytes = value.length;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0x80) {
      // UTF-8 has no lone surrogates: Buffer.write would store U+FFFD, and a replay would see
      // another account or id (and state hash) than the live books. JSON keeps them as escapes.
      if (!value.isWellFormed()) return -1;
      bytes = target.write(value, start, 'utf8');
      break;
    }
    target[start + i] = code;
  }
  if (bytes > bytesMax) return -1;
  if (prefixBytes === 1) target[at] = bytes;
  else target.writeUInt16LE(bytes, at);
  return start + bytes;
}

/** Thrown inside decoding when a field runs past the payload; turned into a malformed-record error. */
class Overrun extends Error {}

/** Reads a binary payload's fields in order, checking each against the payload's end. */
class PayloadReader {
  private readonly bytes: Buffer;
  private readonly view: DataView;

  constructor(
    source: RecordBytes,
    public pos: number,
    private readonly end: number,
  ) {
    this.bytes = source.bytes;
    this.view = source.view;
  }

  get atEnd(): boolean {
    return this.pos === this.end;
  }

  u8(): number {
    if (this.pos + 1 > this.end) throw new Overrun();
    return this.bytes[this.pos++]!;
  }

  f64(): number {
    if (this.pos + 8 > this.end) throw new Overrun();
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  string(prefixBytes: 1 | 2): string {
    let length: number;
    if (prefixBytes === 1) length = this.u8();
    else {
      if (this.pos + 2 > this.end) throw new Overrun();
      length = this.view.getUint16(this.pos, true);
      this.pos += 2;
    }
    if (this.pos + length > this.end) throw new Overrun();
    const value = this.bytes.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  enumValue<T>(values: readonly T[]): T {
    const value = values[this.u8()];
    if (value === undefined) throw new Overrun();
    return value;
  }
}

/**
 * Decodes the binary payload in `bytes[start, end)` (its first byte is the format byte), or returns
 * null when it is malformed (runs short, has bytes left over, an unknown code or flag).
 */
export function decodeBinaryPayload(source: RecordBytes, start: number, end: number): JournalRecord | null {
  try {
    const reader = new PayloadReader(source, start + 1, end);
    const seq = reader.f64();
    const flags = reader.u8();
    const type = reader.u8();
    const allowed = allowedFlags[type];
    if (allowed === undefined || type === 0 || (flags & ~allowed) !== 0) return null;
    const symbol = reader.string(1);
    const command = readCommand(reader, type, seq, flags);
    let meta: CommandMeta | undefined;
    if ((flags & flagMeta) !== 0) meta = readMeta(reader, flags);
    else if ((flags & metaFlags) !== 0) return null;
    if (!reader.atEnd) return null;
    return meta === undefined ? { seq, symbol, command } : { seq, symbol, command, meta };
  } catch (error) {
    if (error instanceof Overrun) return null;
    throw error;
  }
}

function readCommand(reader: PayloadReader, type: number, seq: number, flags: number): BookCommand {
  switch (type) {
    case typeNew: {
      const orderId = reader.f64();
      const quantityLots = reader.f64();
      const priceTicks = (flags & flagPrice) !== 0 ? reader.f64() : undefined;
      const side = reader.enumValue(sides);
      const orderType = reader.enumValue(orderTypes);
      const timeInForce = reader.enumValue(timesInForce);
      const stp = (flags & flagStp) !== 0 ? reader.enumValue(stpModes) : undefined;
      const account = reader.string(2);
      const command: NewOrderCommand = {
        type: 'new',
        seq,
        orderId,
        account,
        side,
        orderType,
        quantityLots,
        timeInForce,
      };
      if (priceTicks !== undefined) command.priceTicks = priceTicks;
      if ((flags & flagPostOnly) !== 0) command.postOnly = (flags & flagPostOnlyTrue) !== 0;
      else if ((flags & flagPostOnlyTrue) !== 0) throw new Overrun();
      if (stp !== undefined) command.stp = stp;
      return command;
    }
    case typeCancel:
      return { type: 'cancel', seq, orderId: reader.f64() };
    case typeReplace: {
      const command: ReplaceCommand = { type: 'replace', seq, orderId: reader.f64() };
      if ((flags & flagQuantity) !== 0) command.quantityLots = reader.f64();
      if ((flags & flagPrice) !== 0) command.priceTicks = reader.f64();
      return command;
    }
    default:
      return { type: 'expire_day_orders', seq };
  }
}

function readMeta(reader: PayloadReader, flags: number): CommandMeta {
  const meta: CommandMeta = { time: reader.f64() };
  if ((flags & flagMember) !== 0) meta.member = reader.string(2);
  if ((flags & flagClientOrderId) !== 0) meta.clientOrderId = reader.string(2);
  return meta;
}
