import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type { BookCommand } from '../matching/index.ts';
import { sequencerLimits } from './limits.ts';

/*
 * Journal file format: a sequence of records, nothing else (no file header).
 *
 *   offset 0  u32 LE  payload length in bytes (1 … recordPayloadBytesMax)
 *   offset 4  u32 LE  CRC-32 (zlib/IEEE) of the payload
 *   offset 8  payload: UTF-8 JSON {"seq":n,"symbol":"…","command":{…,"seq":n},"meta":{…}?}
 *
 * Seqs are gap-free from 1. A record that is cut short at the end of the file is 'torn'; one whose
 * length is out of range or whose CRC does not match is 'corrupt'. Both end the readable journal:
 * the reader reports the offset, and recovery truncates the file there. A record with a valid CRC
 * but a malformed payload or an out-of-order seq was written by a broken writer: that is an
 * invariant failure (JournalCorruptError), never silently truncated.
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

/** Encodes one record (header + payload) into a fresh buffer. */
export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const payloadBytes = Buffer.byteLength(json);
  if (payloadBytes > sequencerLimits.recordPayloadBytesMax) {
    throw new RangeError(`journal record of ${payloadBytes} bytes exceeds recordPayloadBytesMax`);
  }
  const out = Buffer.allocUnsafe(recordHeaderBytes + payloadBytes);
  out.write(json, recordHeaderBytes, 'utf8');
  out.writeUInt32LE(payloadBytes, 0);
  out.writeUInt32LE(crc32(out.subarray(recordHeaderBytes)), 4);
  return out;
}

function decodePayload(payload: Buffer, offset: number, expectedSeq: number): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
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
  if (record.seq !== expectedSeq) {
    throw new JournalCorruptError(
      `record at offset ${offset} has seq ${record.seq}, expected ${expectedSeq}`,
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
  const chunk = Buffer.allocUnsafe(sequencerLimits.readChunkBytes);
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
    const payload = chunk.subarray(start + recordHeaderBytes, start + recordHeaderBytes + length);
    if (crc32(payload) !== chunk.readUInt32LE(start + 4)) {
      tail = { kind: 'corrupt', reason: 'bad_crc' };
      break;
    }
    const record = decodePayload(payload, offset, seq);
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
