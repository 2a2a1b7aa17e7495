import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export type IdGenerator = () => string;

// One randomBytes call per 400 ids instead of one per id: the syscall dominated id cost (~20 µs).
const entropyPoolBytes = 4096;
let entropy = Buffer.alloc(0);
let entropyOffset = entropyPoolBytes;

/** 16 bytes of cryptographic randomness from a refilled pool. */
function random16(): Buffer {
  if (entropyOffset + 16 > entropy.length) {
    entropy = randomBytes(entropyPoolBytes);
    entropyOffset = 0;
  }
  const bytes = Buffer.from(entropy.subarray(entropyOffset, entropyOffset + 16));
  entropyOffset += 16;
  return bytes;
}

/**
 * UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, then random bits, so ids sort by creation time.
 * Within one millisecond a 12-bit counter in rand_a keeps ids from one generator strictly increasing.
 */
export function uuidv7Generator(clock: Clock = systemClock): IdGenerator {
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = clock.nowMs();
    if (ms <= lastMs) {
      counter++;
      if (counter > 0xfff) {
        lastMs++;
        counter = 0;
      }
      ms = lastMs;
    } else {
      lastMs = ms;
      counter = 0;
    }
    const bytes = random16();
    bytes.writeUIntBE(ms, 0, 6);
    bytes[6] = 0x70 | ((counter >> 8) & 0x0f);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | (bytes[8]! & 0x3f);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

export const newId: IdGenerator = uuidv7Generator();

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/** The creation time encoded in a UUIDv7. */
export function uuidv7Time(id: string): Date {
  return new Date(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16));
}
