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
  /**
   * Throws `RegistryError` with code `invalid-record` when the value cannot be decoded. A value whose
   * expiry travels beside the ciphertext (`encodeRecord`) decodes to its JSON with `expires_at` put back.
   */
  decode(value: string, key: string): Promise<string>;
  /**
   * Optional: encodes a record whose expiry travels beside the ciphertext, so a refresh that changes
   * nothing but the expiry leaves the ciphertext as it was and readers' caches stay warm. `content` is
   * the record's JSON without `expires_at`; `expiresAt` in ms since the epoch. Registries use it when
   * present (native mode), `encode` otherwise.
   */
  encodeRecord?(content: string, expiresAt: number, key: string): Promise<string>;
  /** Optional: `decode` that hands the expiry beside the ciphertext back apart; see `DecodedRecord`. */
  decodeRecord?(value: string, key: string): Promise<DecodedRecord>;
  /**
   * Optional: `decodeRecord` without a promise, for decoding a whole `find` in one batch; undefined
   * when it cannot run synchronously (keys not derived yet, or a backend without synchronous AES).
   */
  decodeRecordSync?(value: string, key: string): DecodedRecord | undefined;
  /**
   * Optional: a handle on the ciphertext of `value` (at record key `key`) without decrypting it, for a
   * reader that was told what it holds by a snapshot (see `sealSnapshot`): its `mark` is compared with
   * the snapshot's, and it checks later values as a decoded body does. Undefined when `value` is not of
   * a format that has one (or the keys are not derived yet). `key` may come as a function that gives
   * it, called only when the body needs it (to check an expiry's MAC): a cold find asks this of every
   * record a snapshot vouches for, and most never need their key.
   */
  bodyOf?(value: string, key: string | (() => string)): RecordBody | undefined;
  /**
   * Optional, with `openSnapshot`: encrypts and authenticates a reader's snapshot of a service (JSON),
   * bound to `name` (which no record key equals), so a cold reader decrypts one value instead of one
   * per record. Only holders of the secret can write one a reader accepts.
   */
  sealSnapshot?(plaintext: string, name: string): Promise<string>;
  /**
   * The plaintext's bytes (UTF-8, checked by the reader as it parses them: a snapshot is read in
   * pieces, never as one long string). Throws `invalid-record` unless `value` is a snapshot sealed
   * under `name` with one of the secrets. `value` as the store answered it: its text, or the text's
   * bytes (see `RegistryStore.getSnapshot`).
   */
  openSnapshot?(value: string | Uint8Array, name: string): Promise<Uint8Array>;
}

/** What `RecordCodec.decodeRecord` returns. */
export interface DecodedRecord {
  /** The record's JSON; without `expires_at` when `expiresAt` is set. */
  readonly plaintext: string;
  /** The expiry carried beside the ciphertext, ms since the epoch; undefined when the JSON holds it. */
  readonly expiresAt?: number;
  /** Recognises later values with this very ciphertext; readers keep it, not the plaintext, between finds. */
  readonly body?: RecordBody;
}

/** A decoded ciphertext that travels with a separately authenticated expiry (gcm `g2`). */
export interface RecordBody {
  /**
   * Given a later value at the same key: when it holds this very ciphertext and only a new expiry,
   * that expiry, checked synchronously; undefined when the ciphertext differs (decode it afresh).
   * Throws `invalid-record` when the ciphertext is the same but the expiry field fails authentication.
   */
  sameBody(value: string): number | undefined;
  /**
   * Given a later value at the same key: when it holds this very ciphertext and a well-formed expiry
   * field, that expiry NOT authenticated (no MAC computed); else undefined. A reader that holds an
   * authenticated expiry for the record may use it to keep that expiry while it is far off, and must
   * call `sameBody` before it relies on the new value's own expiry.
   */
  claimedExpiry?(value: string): number | undefined;
  /**
   * Identifies the ciphertext (for gcm: key id, IV, tag and length): two bodies of one record key with
   * the same mark hold the same plaintext, as a writer never reuses an IV for another one. Present on
   * bodies a snapshot can carry.
   */
  readonly mark?: string;
  /** Whether `text[start, end)` is this body's `mark` (compared in place). Present with `mark`. */
  hasMark?(text: string, start: number, end: number): boolean;
  /** The MAC characters of `value` when it holds this body and a well-formed expiry field (not checked). */
  macOf?(value: string): string | undefined;
  /**
   * Whether `value` holds this body, exactly the MAC `text[start, end)` and exactly the expiry field of
   * `expiresAt`: a value a reader that checked that MAC before may take without checking it again.
   */
  hasTail?(value: string, text: string, start: number, end: number, expiresAt: number): boolean;
}

/** One secret, or a list where the first encrypts and all decrypt (key rotation). */
export type SecretInput = string | readonly string[];
