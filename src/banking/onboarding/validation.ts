import type { FieldError } from '../../platform/errors.ts';
import { isCurrencyCode } from '../../platform/money.ts';
import { accountTypes } from '../accounts/bank-accounts.ts';
import type { PersonalData } from '../accounts/customers.ts';

/** Kinds of identity document an applicant can show. */
export const idTypes = ['drivers_license', 'passport', 'my_number_card', 'residence_card'] as const;

/** Maxima of an application's fields (characters). */
export const applicationLimits = {
  fullNameLengthMax: 100,
  emailLengthMax: 254,
  idNumberLengthMax: 30,
  streetAddressLengthMax: 200,
  /** Applicants must be adults. */
  minimumAgeYears: 18,
} as const;

/** The body of POST /api/accounts. */
export interface ApplicationInput {
  customerInfo: {
    fullName: string;
    email: string;
    phoneNumber: string;
    birthDate: string;
    idType: string;
    idNumber: string;
  };
  address: { postalCode: string; streetAddress: string };
  accountType: string;
  currency: string;
}

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// E.164: '+', a country code not starting with 0, at most 15 digits in all.
const phonePattern = /^\+[1-9][0-9]{6,14}$/;
const datePattern = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const idNumberPattern = new RegExp(`^[A-Za-z0-9-]{4,${applicationLimits.idNumberLengthMax}}$`);
const postalCodePattern = /^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/;

/**
 * Checks an application (pure): every problem, each naming its field, so the applicant can fix
 * them all at once. `today` is the applicant's calendar date (YYYY-MM-DD, from the clock).
 * Reasons never repeat the value sent: it is personal data and error bodies may be logged.
 */
export function validateApplication(
  input: ApplicationInput,
  context: { today: string; offeredCurrencies: readonly string[] },
): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, reason: string) => errors.push({ field, reason });
  const info = input.customerInfo;
  checkText(fail, 'customerInfo.fullName', info.fullName, applicationLimits.fullNameLengthMax);
  if (info.email.length > applicationLimits.emailLengthMax || !emailPattern.test(info.email)) {
    fail('customerInfo.email', 'must be an e-mail address such as name@example.com');
  }
  if (!phonePattern.test(info.phoneNumber)) {
    fail('customerInfo.phoneNumber', 'must be in E.164 form: + then country code and number, 8 to 15 digits');
  }
  const birthDateProblem = checkBirthDate(info.birthDate, context.today);
  if (birthDateProblem) fail('customerInfo.birthDate', birthDateProblem);
  if (!(idTypes as readonly string[]).includes(info.idType)) {
    fail('customerInfo.idType', `must be one of ${idTypes.join(', ')}`);
  }
  if (!idNumberPattern.test(info.idNumber)) {
    fail('customerInfo.idNumber', `must be 4 to ${applicationLimits.idNumberLengthMax} letters, digits or -`);
  }
  if (!postalCodePattern.test(input.address.postalCode)) {
    fail('address.postalCode', 'must be 2 to 10 letters, digits, spaces or -');
  }
  checkText(
    fail,
    'address.streetAddress',
    input.address.streetAddress,
    applicationLimits.streetAddressLengthMax,
  );
  if (!(accountTypes as readonly string[]).includes(input.accountType)) {
    fail('accountType', `must be one of ${accountTypes.join(', ')}`);
  }
  if (!isCurrencyCode(input.currency)) {
    fail('currency', 'must be a known ISO 4217 currency code');
  } else if (!context.offeredCurrencies.includes(input.currency)) {
    fail('currency', `is not offered; accounts can be opened in ${context.offeredCurrencies.join(', ')}`);
  }
  return errors;
}

function checkText(fail: (field: string, reason: string) => void, field: string, value: string, max: number) {
  const trimmed = value.trim();
  if (trimmed.length === 0) fail(field, 'must not be empty');
  else if (trimmed.length > max) fail(field, `must be at most ${max} characters`);
  else if (controlCharacters.test(value)) fail(field, 'must not contain control characters');
}

/** Why a birth date is refused, or undefined when it is a real past date of an adult. */
export function checkBirthDate(value: string, today: string): string | undefined {
  const match = datePattern.exec(value);
  if (!match) return 'must be a date written YYYY-MM-DD';
  const [, year, month, day] = match;
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    return 'must be a real calendar date';
  }
  if (Number(year) < 1900) return 'must be after 1900';
  if (value >= today) return 'must be in the past';
  // The 18th birthday as a YYYY-MM-DD string: string order is date order (29 Feb compares correctly).
  const adultOn = `${String(Number(year) + applicationLimits.minimumAgeYears).padStart(4, '0')}-${month}-${day}`;
  if (adultOn > today)
    return `must be at least ${applicationLimits.minimumAgeYears} years ago: applicants must be adults`;
  return undefined;
}

/** The personal data of a valid application, trimmed. */
export function personalDataOf(input: ApplicationInput): PersonalData {
  return {
    fullName: input.customerInfo.fullName.trim(),
    email: input.customerInfo.email,
    phoneNumber: input.customerInfo.phoneNumber,
    birthDate: input.customerInfo.birthDate,
    idType: input.customerInfo.idType,
    idNumber: input.customerInfo.idNumber,
    postalCode: input.address.postalCode,
    streetAddress: input.address.streetAddress.trim(),
  };
}
