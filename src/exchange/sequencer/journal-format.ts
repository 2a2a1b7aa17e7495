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
 * the reader reports the offset. Recovery truncates the file there only when what follows could be
 * the last writes in flight at a crash (`findRecordsAfter`, `unacknowledgedBytesMax`): a valid record
 * further on means an acknowledged record is damaged, and recovery refuses instead. A record with a
 * valid CRC but a malformed payload (or an unknown format byte) or an out-of-order seq was written by
 * a broken writer: that is an invariant failure (JournalCorruptError), never silently truncated.
 */

/** The journal's file name inside a data directory (one file, no segments). */
export const journalFileName = 'journal.log';

export const recordHeaderBytes = 8;

/**
 * The most a crash can leave unwritten at the end of the journal, in bytes and in records: at most
 * writesInFlightMax batch writes are unacknowledged at any moment, each of at most batchBytesMax
 * bytes and batchRecordsMax records, and they are the last ones issued (a write starts only once
 * the one writesInFlightMax before it is acknowledged). A bad record followed by a valid one that
 * ends further than unacknowledgedBytesMax after it, or whose seq is more than
 * unacknowledgedRecordsMax past the last good one, cannot come from a crash.
 */
export const unacknowledgedBytesMax = sequencerLimits.writesInFlightMax * sequencerLimits.batchBytesMax;
export const unacknowledgedRecordsMax = sequencerLimits.writesInFlightMax * sequencerLimits.batchRecordsMax;

/**
 * Where a crash can leave a hole. Bytes after the last acknowledged write were never written before
 * (the journal only appends, and a truncation zeroes the rest of its block), so a part of the last
 * writes that did not reach the disk reads as zeros, never as other bytes: a whole sector the disk
 * did not write (sectors of 512 bytes are the smallest unit a disk writes whole), or the part of a
 * write in flight whose bytes were not yet in the page cache when a later write flushed the page
 * (from its start, or from the page boundary where a killed write stopped copying, to its end,
 * where the next write's first record starts). So the first record a crash makes bad holds a run of
 * zeros that begins at the record or at a multiple of sectorBytes, and ends at the next valid
 * record or at a multiple of sectorBytes. A bad record with no such run was altered after it was
 * written (bit rot, a bad disk, an edited file).
 */
export const sectorBytes = 512;

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
  /**
   * For a new order sent with an Idempotency-Key: a digest of the key, its scope and the body, so
   * that a retry whose first answer was lost finds the order the journal holds instead of placing
   * it again (see service/order-requests.ts).
   */
  requestKey?: string | undefined;
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

  constructor(
    message: string,
    /** Where the record starts. */
    readonly offset: number,
  ) {
    super(message);
  }
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

/** Decodes the payload in `bytes[start, end)` of the record at file offset `offset`, whatever its seq. */
function decodePayload(source: RecordBytes, start: number, end: number, offset: number): JournalRecord {
  const format = source.bytes[start];
  if (format === binaryFormatByte) {
    const decoded = decodeBinaryPayload(source, start, end);
    if (decoded === null) {
      throw new JournalCorruptError(
        `record at offset ${offset} has a valid CRC but a malformed payload`,
        offset,
      );
    }
    return decoded;
  }
  if (format === jsonFormatByte) return decodeJsonPayload(source.bytes.toString('utf8', start, end), offset);
  throw new JournalCorruptError(
    `record at offset ${offset} has a valid CRC but an unknown format byte ${format}`,
    offset,
  );
}

function checkSeq(record: JournalRecord, offset: number, expectedSeq: number): void {
  if (record.seq !== expectedSeq) {
    throw new JournalCorruptError(
      `record at offset ${offset} has seq ${record.seq}, expected ${expectedSeq}`,
      offset,
    );
  }
}

function decodeJsonPayload(json: string, offset: number): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new JournalCorruptError(`record at offset ${offset} has a valid CRC but is not JSON`, offset);
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
    throw new JournalCorruptError(
      `record at offset ${offset} has a valid CRC but a malformed payload`,
      offset,
    );
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
    const record = decodePayload(chunkBytes, payloadStart, payloadEnd, offset);
    checkSeq(record, offset, seq);
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

/** One intact record read at a known offset, with its header's length and CRC fields. */
export interface RecordAt {
  record: JournalRecord;
  /** The header's length field: payload bytes. */
  payloadBytes: number;
  /** The header's CRC field (which the payload matches). */
  crc: number;
  /** Offset just after the record. */
  endOffset: number;
}

/**
 * Reads the record at `offset` on its own: the record, or why there is none ('end' when the file
 * ends at or before the offset, else the tail kind a scan would report there). Throws
 * JournalCorruptError for a record with a valid CRC and a malformed payload, as a scan does.
 */
export function readRecordAt(path: string, offset: number): RecordAt | 'end' | JournalTail['kind'] {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    if (offset < 0 || offset >= fileBytes) return 'end';
    const header = Buffer.alloc(recordHeaderBytes);
    if (readFully(fd, header, offset, recordHeaderBytes) < recordHeaderBytes) return 'torn';
    const payloadBytes = header.readUInt32LE(0);
    if (payloadBytes === 0 || payloadBytes > sequencerLimits.recordPayloadBytesMax) return 'corrupt';
    const payload = recordBytes(Buffer.alloc(payloadBytes));
    if (readFully(fd, payload.bytes, offset + recordHeaderBytes, payloadBytes) < payloadBytes) return 'torn';
    const crc = header.readUInt32LE(4);
    if (crc32Of(payload.bytes, 0, payloadBytes) !== crc) return 'corrupt';
    const record = decodePayload(payload, 0, payloadBytes, offset);
    return { record, payloadBytes, crc, endOffset: offset + recordHeaderBytes + payloadBytes };
  } finally {
    closeSync(fd);
  }
}

/** Where a record was found. */
export interface RecordPlace {
  offset: number;
  seq: number;
}

/** Why a valid record after a bad one shows the bad one was acknowledged (RecordsAfterBadRecord.damage). */
export type DamageEvidence = 'bytes' | 'seq' | 'not_zeroed';

/** What `findRecordsAfter` found after a bad record. */
export interface RecordsAfterBadRecord {
  /** Offset of the bad record (where a scan stopped). */
  badOffset: number;
  /** Seq of the last good record before it (0 when none). */
  lastGoodSeq: number;
  /** Bytes from the bad record to the end of the file. */
  bytes: number;
  /**
   * Valid records found after it (a plausible length, a valid CRC, a well-formed payload and a seq
   * after lastGoodSeq), up to where the search stopped.
   */
  records: number;
  /** The first of them (lowest offset), or null. */
  first: RecordPlace | null;
  /** Their lowest and highest seq, or null. */
  seqs: { min: number; max: number } | null;
  /**
   * The first of them that no crash could have left there, so that the bad record had been
   * acknowledged (the journal is damaged, not torn), or null: 'bytes' when it ends more than
   * unacknowledgedBytesMax bytes after the bad record, 'seq' when its seq is more than
   * unacknowledgedRecordsMax past lastGoodSeq (both: beyond the writes in flight at a crash),
   * 'not_zeroed' when it is the first one and the bytes between the bad record and it hold no run
   * of zeros as a crash leaves (see sectorBytes).
   */
  damage: (RecordPlace & { why: DamageEvidence }) | null;
  /** Whether the search read to the end (false when it stopped at damage). */
  complete: boolean;
}

export interface FindRecordsAfterOptions {
  /** Offset of the bad record. */
  badOffset: number;
  /** Seq of the last good record before it. */
  lastGoodSeq: number;
  /** Where to stop: the file size the scan saw (later bytes of a live journal are not looked at). */
  endOffset: number;
  /** Stop at the first record that shows damage (enough to refuse) instead of counting them all. */
  stopAtDamage: boolean;
}

/**
 * Looks past a bad record for valid records and for evidence that the bad record had been
 * acknowledged (see RecordsAfterBadRecord.damage), reading the file in chunks (memory stays bounded
 * however long the journal is). Records are not on known boundaries after a bad length, so every
 * offset is tried: a plausible length, a known format byte and, for a binary payload, an integer seq
 * after lastGoodSeq are checked before the CRC, so garbage and zeros cost a few comparisons per byte;
 * after a valid record the search jumps to its end. Run only when a scan stopped at a bad record.
 */
export function findRecordsAfter(path: string, options: FindRecordsAfterOptions): RecordsAfterBadRecord {
  const { badOffset, lastGoodSeq, endOffset } = options;
  const found: RecordsAfterBadRecord = {
    badOffset,
    lastGoodSeq,
    bytes: Math.max(0, endOffset - badOffset),
    records: 0,
    first: null,
    seqs: null,
    damage: null,
    complete: true,
  };
  const recordBytesMax = recordHeaderBytes + sequencerLimits.recordPayloadBytesMax;
  const source = recordBytes(Buffer.allocUnsafe(Math.max(sequencerLimits.readChunkBytes, recordBytesMax)));
  const chunk = source.bytes;
  const bytesLimit = badOffset + unacknowledgedBytesMax;
  const seqLimit = lastGoodSeq + unacknowledgedRecordsMax;
  const fd = openSync(path, 'r');
  try {
    let chunkStart = badOffset;
    let chunkEnd = badOffset;
    // Makes [at, at + bytes) readable in `chunk`; the caller checked at + bytes ≤ endOffset, and a
    // chunk holds the longest record, so a refill starting at `at` always has it.
    const ensure = (at: number, bytes: number): void => {
      if (at >= chunkStart && at + bytes <= chunkEnd) return;
      chunkStart = at;
      chunkEnd = at + readFully(fd, chunk, at, Math.min(chunk.length, endOffset - at));
      if (at + bytes > chunkEnd) throw new Error(`journal shrank while being read at offset ${at}`);
    };
    let offset = badOffset;
    while (offset + recordHeaderBytes < endOffset) {
      ensure(offset, recordHeaderBytes);
      const at = offset - chunkStart;
      const length = chunk.readUInt32LE(at);
      if (length === 0 || length > sequencerLimits.recordPayloadBytesMax) {
        offset++;
        continue;
      }
      const end = offset + recordHeaderBytes + length;
      if (end > endOffset) {
        offset++;
        continue;
      }
      ensure(offset, recordHeaderBytes + length);
      const start = offset - chunkStart + recordHeaderBytes;
      const format = chunk[start];
      if (format === binaryFormatByte) {
        if (length < 9) {
          offset++;
          continue;
        }
        const seq = source.view.getFloat64(start + 1, true);
        if (!(seq > lastGoodSeq && Number.isSafeInteger(seq))) {
          offset++;
          continue;
        }
      } else if (format !== jsonFormatByte) {
        offset++;
        continue;
      }
      if (crc32Of(chunk, start, start + length) !== chunk.readUInt32LE(start - 4)) {
        offset++;
        continue;
      }
      let seq: number;
      try {
        seq = decodePayload(source, start, start + length, offset).seq;
      } catch (error) {
        if (!(error instanceof JournalCorruptError)) throw error;
        offset++;
        continue;
      }
      if (!(seq > lastGoodSeq && Number.isSafeInteger(seq))) {
        offset++;
        continue;
      }
      found.records++;
      found.seqs = found.seqs
        ? { min: Math.min(found.seqs.min, seq), max: Math.max(found.seqs.max, seq) }
        : { min: seq, max: seq };
      if (found.damage === null) {
        const why: DamageEvidence | null =
          end > bytesLimit
            ? 'bytes'
            : seq > seqLimit
              ? 'seq'
              : found.first === null && !hasCrashZeros(fd, badOffset, offset)
                ? 'not_zeroed'
                : null;
        if (why !== null) found.damage = { offset, seq, why };
      }
      found.first ??= { offset, seq };
      if (found.damage !== null && options.stopAtDamage) {
        found.complete = false;
        break;
      }
      offset = end;
    }
    return found;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `[from, to)` (from the first bad record to the first valid record after it) holds a run of
 * zeros as a crash leaves one (see sectorBytes): from `from` or a multiple of sectorBytes, to `to`
 * or a multiple of sectorBytes. Reads the range in chunks.
 */
function hasCrashZeros(fd: number, from: number, to: number): boolean {
  const qualifies = (start: number, end: number): boolean => {
    const first = start === from ? start : Math.ceil(start / sectorBytes) * sectorBytes;
    const last = end === to ? end : Math.floor(end / sectorBytes) * sectorBytes;
    return first < last;
  };
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let runStart = -1;
  for (let at = from; at < to; ) {
    const bytes = readFully(fd, buffer, at, Math.min(buffer.length, to - at));
    if (bytes === 0) return false;
    for (let i = 0; i < bytes; i++) {
      if (buffer[i] === 0) {
        if (runStart < 0) runStart = at + i;
      } else if (runStart >= 0) {
        if (qualifies(runStart, at + i)) return true;
        runStart = -1;
      }
    }
    at += bytes;
  }
  return runStart >= 0 && qualifies(runStart, to);
}
