import type { AccountFlags, TransferFlags } from './types.ts';

/*
 * Flags are stored as int bitmasks (TigerBeetle's bit positions) and exposed as objects of booleans.
 * Bits 16 and 32 of transfers stay free for TigerBeetle's balancing_debit / balancing_credit.
 */
export const transferFlagBits = {
  linked: 1,
  pending: 2,
  postPending: 4,
  voidPending: 8,
  closingDebit: 64,
  closingCredit: 128,
} as const satisfies Record<keyof TransferFlags, number>;

export const accountFlagBits = {
  linked: 1,
  debitsMustNotExceedCredits: 2,
  creditsMustNotExceedDebits: 4,
} as const satisfies Record<keyof AccountFlags, number>;

/**
 * Marks a mask that carried an unknown flag name or a non-boolean value. A bit no flag uses, so a
 * malformed event is never mistaken for a linked one.
 */
export const reservedFlagMask = 0x4000_0000;

type FlagBits = Readonly<Record<string, number>>;

function encode(flags: object | undefined, bits: FlagBits): number {
  if (flags === undefined) return 0;
  let mask = 0;
  for (const [name, value] of Object.entries(flags)) {
    const bit = Object.hasOwn(bits, name) ? bits[name] : undefined;
    if (bit === undefined || (value !== true && value !== false && value !== undefined))
      return reservedFlagMask;
    if (value === true) mask |= bit;
  }
  return mask;
}

function decode<K extends string>(mask: number, bits: Readonly<Record<K, number>>): Record<K, boolean> {
  const flags = {} as Record<K, boolean>;
  for (const name of Object.keys(bits) as K[]) flags[name] = (mask & bits[name]) !== 0;
  return flags;
}

/** The bitmask of transfer flags, or reservedFlagMask when a name is unknown. */
export function encodeTransferFlags(flags: TransferFlags | undefined): number {
  return encode(flags, transferFlagBits);
}

/** The bitmask of account flags, or reservedFlagMask when a name is unknown. */
export function encodeAccountFlags(flags: AccountFlags | undefined): number {
  return encode(flags, accountFlagBits);
}

export function decodeTransferFlags(mask: number): Required<TransferFlags> {
  return decode(mask, transferFlagBits);
}

export function decodeAccountFlags(mask: number): Required<AccountFlags> {
  return decode(mask, accountFlagBits);
}

export function hasFlag(mask: number, bit: number): boolean {
  return (mask & bit) !== 0;
}
