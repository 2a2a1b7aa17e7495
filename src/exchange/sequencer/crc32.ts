import { crc32 as zlibCrc32 } from 'node:zlib';

/*
 * CRC-32 (IEEE 802.3, the zlib one) of a byte range, without slicing the buffer. Journal records are
 * ~40–80 bytes; for those a table-driven loop in JS (slicing by 8) is 3–5× cheaper than
 * `zlib.crc32`, whose fixed cost (a subarray object plus the native call) dominates short inputs.
 * Longer ranges go to zlib. Both give the same value (tested).
 */

/** Ranges at least this long are handed to `zlib.crc32`. */
const nativeFromBytes = 256;

// table[k * 256 + b]: the CRC of byte b followed by k zero bytes (slicing-by-8 tables).
const table = new Int32Array(8 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  table[b] = c;
}
for (let k = 1; k < 8; k++) {
  for (let b = 0; b < 256; b++) {
    const previous = table[(k - 1) * 256 + b]!;
    table[k * 256 + b] = table[previous & 0xff]! ^ (previous >>> 8);
  }
}

/** CRC-32 of `bytes[start, end)` as an unsigned 32-bit integer. */
export function crc32Of(bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= nativeFromBytes) return zlibCrc32(bytes.subarray(start, end));
  let c = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const low = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      table[1792 + (low & 0xff)]! ^
      table[1536 + ((low >>> 8) & 0xff)]! ^
      table[1280 + ((low >>> 16) & 0xff)]! ^
      table[1024 + (low >>> 24)]! ^
      table[768 + bytes[i + 4]!]! ^
      table[512 + bytes[i + 5]!]! ^
      table[256 + bytes[i + 6]!]! ^
      table[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
