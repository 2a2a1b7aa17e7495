import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { BookCommand } from '../matching/index.ts';
import { crc32Of } from './crc32.ts';
import { sequencerLimits } from './limits.ts';
import {
  binaryFormatByte,
  binaryPayloadBound,
  decodeBinaryPayload,
  encodeBinaryPayload,
  type RecordBytes,
  recordBytes,
} from './record-binary.ts';

/*
 * Journal file format: a sequence of records, nothing else (no file header).
 *
 *   offset 0  u32 LE  payload length in bytes (1 … recordPayloadBytesMax)
 *   offset 4  u32 LE  CRC-32 (zlib/IEEE) of the payload
 *   offset 8  payload; its first byte says its format:
 *             0x01  binary (record-binary.ts): what the writer produces
 *             0x7B  '{', UTF-8 JSON {"seq":n,"symbol":"…","command":{…,"seq":n},"meta":{…}?}: the
 *                   first format, still read, and written for the rare record the binary one
 *                   cannot represent exactly
 *
 * Seqs are gap-free from 1. A record that is cut short at the end of the file is 'torn'; one whose
 * length is out of range or whose CRC does not match is 'corrupt'. Both end the readable journal:
 * the reader reports the offset, and recovery truncates the file there. A record with a valid CRC
 * but a malformed payload (or an unknown format byte) or an out-of-order seq was written by a broken
 * writer: that is an invariant failure (JournalCorruptError), never silently truncated.
 */

export const recordHeaderBytes = 8;

/**
 * Facts about a command that the shell knows and the book does not: when it was sequenced and on
 * whose behalf. Journaled with the command, so every reader of the journal (projector, standby,
 * replay) sees the same time and member without reading a clock.
 */
export interface CommandMeta {
  /** Milliseconds since the epoch at which the sequencer accepted the command. */
  time: number;
  /** The exchange member that sent it (absent for system commands such as session close). */
  member?: string | undefined;
  /** The member's own id for a new order. */
  clientOrderId?: string | undefined;
}

/** One sequenced command as the journal stores it. */
export interface JournalRecord {
  seq: number;
  symbol: string;
  command: BookCommand;
  meta?: CommandMeta | undefined;
}

/** Where and why a scan stopped. */
export type JournalTail =
  | { kind: 'clean' }
  | { kind: 'torn'; reason: 'short_header' | 'short_payload' }
  | { kind: 'corrupt'; reason: 'bad_length' | 'bad_crc' };

export interface JournalScan {
  /** Records read and handed to the callback. */
  records: number;
  /** Seq of the last valid record, or the seq before the first expected one. */
  lastSeq: number;
  /** Offset where the last valid record starts, or -1 when the scan read none. */
  lastRecordOffset: number;
  /** Offset just after the last valid record: where the journal is truncated on recovery. */
  validEndOffset: number;
  /** File size when the scan ended; validEndOffset < fileBytes means a torn or corrupt tail. */
  fileBytes: number;
  tail: JournalTail;
}

/** Thrown when a record with a valid CRC breaks the journal's invariants (a writer bug). */
export class JournalCorruptError extends Error {
  override name = 'JournalCorruptError';
}

/** Upper bound of the bytes `encodeRecordInto` needs for a record (header included). */
export function recordBytesBound(
  symbol: string,
  command: BookCommand,
  meta: CommandMeta | undefined,
): number {
  return recordHeaderBytes + binaryPayloadBound(symbol, command, meta);
}

/** Records whose bound is above this are encoded by `encodeRecord` (exact sizes) instead. */
export const recordBytesBoundMax = recordHeaderBytes + sequencerLimits.recordPayloadBytesMax;

/**
 * Encodes one record (header + binary payload) at `out.bytes[at]`, which must have
 * `recordBytesBound` bytes of room, and returns its length; -1 when the binary payload cannot
 * represent it (use `encodeRecord`, which falls back to JSON). Throws a RangeError when the payload
 * is longer than recordPayloadBytesMax. Bytes past `at` may be overwritten whatever the outcome.
 */
export function encodeRecordInto(
  out: RecordBytes,
  at: number,
  seq: number,
  symbol: string,
  command: BookCommand,
  meta: CommandMeta | undefined,
): number {
  const payloadAt = at + recordHeaderBytes;
  const payloadBytes = encodeBinaryPayload(out, payloadAt, seq, symbol, command, meta);
  if (payloadBytes < 0) return -1;
  checkPayloadBytes(payloadBytes);
  out.view.setUint32(at, payloadBytes, true);
  out.view.setUint32(at + 4, crc32Of(out.bytes, payloadAt, payloadAt + payloadBytes), true);
  return recordHeaderBytes + payloadBytes;
}

/** Encodes one record (header + payload: binary, or JSON when binary cannot represent it). */
export function encodeRecord(record: JournalRecord): Buffer {
  const { seq, symbol, command, meta } = record;
  const bound = recordBytesBound(symbol, command, meta);
  // A string of more UTF-16 units than the payload may have bytes cannot fit in either format.
  if (bound - recordHeaderBytes <= 3 * sequencerLimits.recordPayloadBytesMax) {
    const out = recordBytes(Buffer.allocUnsafe(bound));
    const bytes = encodeRecordInto(out, 0, seq, symbol, command, meta);
    if (bytes >= 0) return Buffer.from(out.bytes.subarray(0, bytes));
  }
  return encodeJsonRecord(record);
}

/** The first format: header + UTF-8 JSON payload. */
export function encodeJsonRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const payloadBytes = Buffer.byteLength(json);
  checkPayloadBytes(payloadBytes);
  const out = Buffer.allocUnsafe(recordHeaderBytes + payloadBytes);
  out.write(json, recordHeaderBytes, 'utf8');
  out.writeUInt32LE(payloadBytes, 0);
  out.writeUInt32LE(crc32Of(out, recordHeaderBytes, out.length), 4);
  return out;
}

function checkPayloadBytes(payloadBytes: number): void {
  if (payloadBytes > sequencerLimits.recordPayloadBytesMax) {
    throw new RangeError(`journal record of ${payloadBytes} bytes exceeds recordPayloadBytesMax`);
  }
}

const jsonFormatByte = 0x7b;

/** Decodes the payload in `bytes[start, end)` of the record at file offset `offset`. */
function decodePayload(
  source: RecordBytes,
  start: number,
  end: number,
  offset: number,
  expectedSeq: number,
): JournalRecord {
  const format = source.bytes[start];
  let record: JournalRecord;
  if (format === binaryFormatByte) {
    const decoded = decodeBinaryPayload(source, start, end);
    if (decoded === null) {
      throw new JournalCorruptError(`record at offset ${offset} has a valid CRC but a malformed payload`);
    }
    record = decoded;
  } else if (format === jsonFormatByte)
    record = decodeJsonPayload(source.bytes.toString('utf8', start, end), offset);
  else {
    throw new JournalCorruptError(
      `record at offset ${offset} has a valid CRC but an unknown format byte ${format}`,
    );
  }
  if (record.seq !== expectedSeq) {
    throw new JournalCorruptError(
      `record at offset ${offset} has seq ${record.seq}, expected ${expectedSeq}`,
    );
  }
  return record;
}

function decodeJsonPayload(json: string, offset: number): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new JournalCorruptError(`record at offset ${offset} has a valid CRC but is not JSON`);
  }
  const record = value as Partial<JournalRecord> | null;
  if (
    record === null ||
    typeof record !== 'object' ||
    typeof record.symbol !== 'string' ||
    typeof record.command !== 'object' ||
    record.command === null ||
    typeof record.command.type !== 'string' ||
    record.seq !== record.command.seq
  ) {
    throw new JournalCorruptError(`record at offset ${offset} has a valid CRC but a malformed payload`);
  }
  return record as JournalRecord;
}

export interface ScanOptions {
  /** Byte offset of the first record to read (a record boundary). */
  fromOffset: number;
  /** Seq the first record must carry; every following one is one more. */
  firstSeq: number;
  /** Stop after this many bytes have been read from fromOffset (at a record boundary). */
  bytesMax?: number;
  /** Stop before the record whose seq would exceed this (the scan ends 'clean' there). */
  seqMax?: number;
}

/**
 * Reads records from `path` in chunks and hands each to `onRecord` with the offset just after it,
 * stopping at the end of the file or at the first torn or corrupt record. Never modifies the file.
 */
export function scanJournal(
  path: string,
  options: ScanOptions,
  onRecord: (record: JournalRecord, endOffset: number) => void,
): JournalScan {
  const fd = openSync(path, 'r');
  try {
    return scanFd(fd, options, onRecord);
  } finally {
    closeSync(fd);
  }
}

function scanFd(
  fd: number,
  options: ScanOptions,
  onRecord: (record: JournalRecord, endOffset: number) => void,
): JournalScan {
  const fileBytes = fstatSync(fd).size;
  const limitOffset = Math.min(
    fileBytes,
    options.fromOffset + (options.bytesMax ?? Number.POSITIVE_INFINITY),
  );
  const chunkBytes = recordBytes(Buffer.allocUnsafe(sequencerLimits.readChunkBytes));
  const chunk = chunkBytes.bytes;
  let offset = options.fromOffset;
  let seq = options.firstSeq;
  let records = 0;
  let lastRecordOffset = -1;
  let tail: JournalTail = { kind: 'clean' };
  // chunk[0] holds the byte at chunkStart; chunkEnd is one past the last byte read.
  let chunkStart = offset;
  let chunkEnd = offset;
  const ensure = (bytes: number): boolean => {
    if (offset + bytes <= chunkEnd) return true;
    chunkStart = offset;
    chunkEnd = offset + readFully(fd, chunk, offset, Math.min(chunk.length, fileBytes - offset));
    return offset + bytes <= chunkEnd;
  };
  const seqMax = options.seqMax ?? Number.POSITIVE_INFINITY;
  while (offset < limitOffset && seq <= seqMax) {
    if (!ensure(recordHeaderBytes)) {
      tail = { kind: 'torn', reason: 'short_header' };
      break;
    }
    const at = offset - chunkStart;
    const length = chunk.readUInt32LE(at);
    if (length === 0 || length > sequencerLimits.recordPayloadBytesMax) {
      tail = { kind: 'corrupt', reason: 'bad_length' };
      break;
    }
    if (!ensure(recordHeaderBytes + length)) {
      tail = { kind: 'torn', reason: 'short_payload' };
      break;
    }
    const start = offset - chunkStart;
    const payloadStart = start + recordHeaderBytes;
    const payloadEnd = payloadStart + length;
    if (crc32Of(chunk, payloadStart, payloadEnd) !== chunk.readUInt32LE(start + 4)) {
      tail = { kind: 'corrupt', reason: 'bad_crc' };
      break;
    }
    const record = decodePayload(chunkBytes, payloadStart, payloadEnd, offset, seq);
    lastRecordOffset = offset;
    offset += recordHeaderBytes + length;
    records++;
    seq++;
    onRecord(record, offset);
  }
  return { records, lastSeq: seq - 1, lastRecordOffset, validEndOffset: offset, fileBytes, tail };
}

function readFully(fd: number, buffer: Buffer, position: number, bytes: number): number {
  let done = 0;
  while (done < bytes) {
    const n = readSync(fd, buffer, done, bytes - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
