/** Field-level encryption of the bank's personal data and secrets (AES-256-GCM, rotating keys). */
export {
  generatedKeyId,
  type Keyring,
  keyringOfGeneratedKey,
  parseKeyring,
  piiKeyBytes,
  withActiveKey,
} from './keyring.ts';
export { type PersonalDataColumn, personalDataColumns, reencryptAll, sealedTables } from './reencrypt.ts';
export {
  keyIdOf,
  type OpenFailure,
  type OpenResult,
  open,
  openOrThrow,
  resealIfStale,
  type SealContext,
  seal,
} from './seal.ts';
