/** The nil UUID: TigerBeetle's reserved id 0. */
export const nilUuid = '00000000-0000-0000-0000-000000000000';

/**
 * True for a canonical (lowercase) UUID string, the ledger's u128. Same rule as platform isUuid, as a
 * character loop: it runs several times per transfer, and the regular expression showed in profiles.
 */
export function isUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) {
      return false;
    }
  }
  return true;
}
