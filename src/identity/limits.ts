import { limits } from '../platform/limits.ts';

/** Identity's bounds, beside the platform's (src/platform/limits.ts). */
export const identityLimits = {
  loginIdLengthMax: limits.loginIdLengthMax,
  passwordLengthMax: limits.passwordLengthMax,
  /** An access token longer than this is refused unread. */
  tokenLengthMax: 4096,
  /** `kinyu_` + uuid + `_` + 43 base64url characters is 86; anything much longer is not one of ours. */
  apiKeyLengthMax: 200,
  apiKeyNameLengthMax: 100,
  /** API keys returned by one list page. */
  apiKeyPageMax: limits.pageSizeMax,
  /** Verified API keys one process remembers; the cache is emptied when it is full. */
  apiKeyCacheEntriesMax: 10_000,
  apiKeyPageDefault: 100,
  /** The shortest token secret accepted (HS256 wants at least 256 bits). */
  tokenSecretBytesMin: 32,
} as const;
