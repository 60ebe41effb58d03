/** Every failure the toolkit reports has one of these codes. */
export type RegistryErrorCode =
  /** An argument or option is missing, of the wrong type, or out of range. */
  | 'invalid-argument'
  /** A secret is missing or shorter than 16 characters. */
  | 'invalid-secret'
  /** A service name, instance id, namespace or endpoint would break the key layout. */
  | 'invalid-name'
  /** A record is larger than the size limit, or has too many endpoints or meta entries. */
  | 'record-too-large'
  /** A stored value could not be decrypted or authenticated, or failed the record schema. */
  | 'invalid-record'
  /** The store could not be reached or answered with an error. */
  | 'store-unavailable'
  /** The store was used after `close()`. */
  | 'store-closed'
  /** The store lacks a capability the caller asked for. */
  | 'unsupported'
  /** `pick` found no `up` instance of the service. */
  | 'no-instance'
  /** The registry is in a state where the call makes no sense (e.g. `update()` before `register()`). */
  | 'invalid-state';

/** The one error class of the toolkit: `code` says what went wrong, `cause` keeps the original error. */
export class RegistryError extends Error {
  readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
    this.code = code;
  }
}

export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
