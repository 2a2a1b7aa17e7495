/*
 * Account numbers: branch (3 digits) + serial (7 digits) + one check digit, 11 digits in all.
 * The check digit is Luhn's (ISO/IEC 7812-1, "mod 10"): from the rightmost payload digit leftwards,
 * double every other digit starting with the rightmost, subtract 9 from any doubled digit above 9,
 * sum everything; the check digit is (10 − sum mod 10) mod 10. It catches every single-digit error
 * and most swaps of adjacent digits, so a mistyped account number is refused before any lookup.
 */

export const branchDigits = 3;
export const serialDigits = 7;
/** Largest serial: the 7-digit space of one installation. */
export const serialMax = 9_999_999;

/** Luhn check digit of a string of decimal digits. */
export function luhnCheckDigit(payload: string): number {
  if (!/^[0-9]+$/.test(payload)) throw new TypeError('the Luhn payload must be decimal digits');
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let digit = payload.charCodeAt(payload.length - 1 - i) - 48;
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return (10 - (sum % 10)) % 10;
}

/** The account number of `serial` at `branch`. */
export function formatAccountNumber(branch: string, serial: number): string {
  if (!new RegExp(`^[0-9]{${branchDigits}}$`).test(branch)) {
    throw new TypeError(`the branch must be ${branchDigits} digits`);
  }
  if (!Number.isSafeInteger(serial) || serial < 1 || serial > serialMax) {
    throw new RangeError(`the serial must be 1 to ${serialMax}`);
  }
  const payload = branch + String(serial).padStart(serialDigits, '0');
  return payload + String(luhnCheckDigit(payload));
}

/** True for 11 digits whose last is the Luhn check digit of the first ten. */
export function isValidAccountNumber(value: string): boolean {
  if (!/^[0-9]{11}$/.test(value)) return false;
  return luhnCheckDigit(value.slice(0, 10)) === value.charCodeAt(10) - 48;
}
