import { defineErrors } from '../platform/errors.ts';

/** Identity's own error codes; registered with the platform catalogue by `createIdentityService`. */
export const identityErrors = defineErrors({
  weak_password: { status: 400, title: 'The password does not meet the password policy' },
  invalid_login_id: { status: 400, title: 'The login id is not valid' },
  login_id_taken: { status: 409, title: 'This login id is already taken' },
  user_not_found: { status: 404, title: 'No user has this login id' },
  api_key_not_found: { status: 404, title: 'No API key has this id' },
  api_key_name_taken: { status: 409, title: 'An active API key already has this name' },
});

export type IdentityErrorCode = keyof typeof identityErrors;
