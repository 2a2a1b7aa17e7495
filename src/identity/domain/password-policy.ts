import { limits } from '../../platform/limits.ts';

/** The password policy. Long passphrases may skip the character-class rule. */
export const passwordPolicy = {
  lengthMin: 12,
  lengthMax: limits.passwordLengthMax,
  characterClassesMin: 3,
  /** From this length on, any mix of characters is accepted. */
  passphraseLengthMin: 20,
} as const;

/** Why a password is refused, in the order they are reported. */
export type PasswordViolation =
  | 'too_short'
  | 'too_long'
  | 'too_few_character_classes'
  | 'same_as_login_id'
  | 'same_as_current_password';

export interface PasswordCandidate {
  password: string;
  loginId: string;
  /** The password being replaced, when there is one. */
  currentPassword?: string;
}

/** Every rule the candidate breaks; empty when it is acceptable. */
export function checkPassword(candidate: PasswordCandidate): PasswordViolation[] {
  const password = candidate.password.normalize('NFC');
  const length = codePointLength(password);
  const violations: PasswordViolation[] = [];
  if (length < passwordPolicy.lengthMin) violations.push('too_short');
  if (length > passwordPolicy.lengthMax) violations.push('too_long');
  if (
    length < passwordPolicy.passphraseLengthMin &&
    characterClasses(password) < passwordPolicy.characterClassesMin
  ) {
    violations.push('too_few_character_classes');
  }
  if (password.toLowerCase() === candidate.loginId.normalize('NFC').toLowerCase())
    violations.push('same_as_login_id');
  if (candidate.currentPassword !== undefined && password === candidate.currentPassword.normalize('NFC')) {
    violations.push('same_as_current_password');
  }
  return violations;
}

/** A sentence fragment for a violation, to follow the field name ("newPassword is too short …"). */
export function describeViolation(violation: PasswordViolation): string {
  switch (violation) {
    case 'too_short':
      return `must be at least ${passwordPolicy.lengthMin} characters long`;
    case 'too_long':
      return `must be at most ${passwordPolicy.lengthMax} characters long`;
    case 'too_few_character_classes':
      return `must mix at least ${passwordPolicy.characterClassesMin} of lower case, upper case, digits and symbols, or be at least ${passwordPolicy.passphraseLengthMin} characters long`;
    case 'same_as_login_id':
      return 'must not be the login id';
    case 'same_as_current_password':
      return 'must differ from the current password';
    default: {
      const unknown: never = violation;
      throw new Error(`unknown password violation ${String(unknown)}`);
    }
  }
}

/** Lower case, upper case, digits, and everything else (symbols, spaces, other scripts' marks). */
export function characterClasses(password: string): number {
  const patterns = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u];
  return patterns.filter((pattern) => pattern.test(password)).length;
}

function codePointLength(text: string): number {
  return [...text].length;
}

/** Login ids: letters, digits and `._@+-`, starting with a letter or digit (an e-mail address fits). */
export const loginIdPattern = '^[A-Za-z0-9][A-Za-z0-9._@+-]*$';
const loginIdRegExp = new RegExp(loginIdPattern);

/** Why a login id is refused, or undefined when it is acceptable. */
export function checkLoginId(loginId: string): string | undefined {
  if (loginId.length === 0 || loginId.length > limits.loginIdLengthMax) {
    return `must be 1 to ${limits.loginIdLengthMax} characters long`;
  }
  if (!loginIdRegExp.test(loginId))
    return 'may hold only letters, digits and . _ @ + -, starting with a letter or digit';
  return undefined;
}
