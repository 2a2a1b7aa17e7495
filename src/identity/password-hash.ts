import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { assert } from '../platform/errors.ts';

/** scrypt cost parameters. N is the CPU/memory cost (a power of two), r the block size, p parallelism. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * Production cost: N = 2^14 took ~60 ms (16 MiB) on the development machine, where 2^15 took ~130 ms,
 * over the ~100 ms login budget. Raise N when hardware allows: hashes carry their parameters and are
 * upgraded at the next successful login.
 */
export const defaultScryptParams: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
/** Cheap parameters for tests only: never use them for real passwords. */
export const testScryptParams: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };

const saltBytes = 16;
const keyBytes = 32;
// Bounds on parameters read back from the database, so a corrupted row cannot make one login eat the machine.
const costMax = 2 ** 20;
const blockSizeMax = 32;
const parallelismMax = 16;

export interface PasswordHasher {
  /** Encodes as `scrypt$N$r$p$salt$hash`, salt and hash base64url, with a fresh random salt. */
  hash(password: string): Promise<string>;
  /** Constant-time check of a password against an encoded hash. */
  verify(password: string, encoded: string): Promise<boolean>;
  /** Spends the same time as a real verify, for logins with an unknown id (no user enumeration by timing). */
  verifyNothing(password: string): Promise<false>;
  /** True when the encoded hash used other parameters than this hasher's, so it should be rehashed. */
  needsRehash(encoded: string): boolean;
}

/** A scrypt password hasher with the given cost. */
export function createPasswordHasher(params: ScryptParams = defaultScryptParams): PasswordHasher {
  assertParams(params);
  let decoy: Promise<string> | undefined;
  const hash = async (password: string) => {
    const salt = randomBytes(saltBytes);
    const key = await derive(password, salt, params);
    return [
      'scrypt',
      params.N,
      params.r,
      params.p,
      salt.toString('base64url'),
      key.toString('base64url'),
    ].join('$');
  };
  const verify = async (password: string, encoded: string) => {
    const parsed = parseHash(encoded);
    const key = await derive(password, parsed.salt, parsed.params);
    return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  };
  return {
    hash,
    verify,
    async verifyNothing(password) {
      decoy ??= hash(randomBytes(18).toString('base64url'));
      await verify(password, await decoy);
      return false;
    },
    needsRehash(encoded) {
      const { params: used } = parseHash(encoded);
      return used.N !== params.N || used.r !== params.r || used.p !== params.p;
    },
  };
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash {
  const parts = encoded.split('$');
  assert(parts.length === 6 && parts[0] === 'scrypt', 'password hash is not in scrypt$N$r$p$salt$hash form');
  const params = { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]) };
  assertParams(params);
  return { params, salt: Buffer.from(parts[4]!, 'base64url'), key: Buffer.from(parts[5]!, 'base64url') };
}

function assertParams({ N, r, p }: ScryptParams): void {
  assert(Number.isInteger(N) && N >= 2 && N <= costMax && (N & (N - 1)) === 0, `scrypt N ${N} out of range`);
  assert(Number.isInteger(r) && r >= 1 && r <= blockSizeMax, `scrypt r ${r} out of range`);
  assert(Number.isInteger(p) && p >= 1 && p <= parallelismMax, `scrypt p ${p} out of range`);
}

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly the production need, so leave headroom.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  // NFC so the same password typed on different keyboards/input methods hashes the same.
  const input = Buffer.from(password.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    scrypt(input, salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
