/**
 * Turns a record's plaintext JSON into the string a store keeps, and back.
 * `key` is the record's full key (`<namespace>:<service>:<instanceId>`); codecs that authenticate
 * bind the ciphertext to it, so a record copied to another key fails to decode.
 */
export interface RecordCodec {
  /** `gcm` or `apicrud`. */
  readonly name: string;
  /** Output is ASCII (base64 and separators only). */
  encode(plaintext: string, key: string): Promise<string>;
  /** Throws `RegistryError` with code `invalid-record` when the value cannot be decoded. */
  decode(value: string, key: string): Promise<string>;
}

/** One secret, or a list where the first encrypts and all decrypt (key rotation). */
export type SecretInput = string | readonly string[];
