export type Nip06ErrorCode =
  | 'invalid_mnemonic'
  | 'invalid_account'
  | 'invalid_passphrase'
  | 'invalid_private_key'
  | 'invalid_public_key'
  | 'invalid_npub'
  | 'invalid_event'
  | 'invalid_argument';

/**
 * Thrown by the key helpers. Messages describe what was wrong with the input but never
 * repeat it, because the input is usually a secret (mnemonic, private key).
 */
export class Nip06Error extends Error {
  override readonly name = 'Nip06Error';
  constructor(
    readonly code: Nip06ErrorCode,
    message: string,
    /** For `invalid_mnemonic`: which check failed (see `validateMnemonic`). */
    readonly detail?: string,
  ) {
    super(message);
  }
}
