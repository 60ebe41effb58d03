import { RegistryError } from '../errors.js';
import { webCryptoBackend } from './web.js';

/**
 * An AES-256-GCM key prepared by one backend. Opaque: the raw bytes stay inside the backend, which
 * pays the import cost (Web Crypto's `importKey`, Node's `KeyObject`) once per key instead of once
 * per record, because `find()` may decrypt 10,000 records in one call.
 */
export interface GcmKey {
  readonly algorithm: 'aes-256-gcm';
  /** `name` of the backend that prepared the key; a key only works with that backend. */
  readonly backend: string;
}

/** An AES-256-CBC key prepared by one backend; see `GcmKey`. */
export interface CbcKey {
  readonly algorithm: 'aes-256-cbc';
  /** `name` of the backend that prepared the key; a key only works with that backend. */
  readonly backend: string;
}

/**
 * The cryptographic primitives the record codecs need. Every backend must give byte-identical
 * results for the same inputs, so a value written through one is readable through any other.
 * Methods never rely on `this`, so a backend can be copied with a spread and one method replaced
 * (tests replace `randomBytes` to fix IVs).
 */
export interface CryptoBackend {
  /** `web` or `node`; a prepared key remembers it. */
  readonly name: string;
  /** `length` cryptographically random bytes (IVs). */
  randomBytes(length: number): Uint8Array;
  /** SHA-256 digest (32 bytes). */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /** HKDF-SHA-256 (RFC 5869) of `input`, returning `length` bytes. */
  hkdfSha256(input: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** Prepares a 32-byte key for `encryptGcm`/`decryptGcm`. */
  importGcmKey(raw: Uint8Array): Promise<GcmKey>;
  /** Prepares a 32-byte key for `encryptCbc`/`decryptCbc`. */
  importCbcKey(raw: Uint8Array): Promise<CbcKey>;
  /** AES-256-GCM with a 128-bit tag; returns `ciphertext || tag`. */
  encryptGcm(key: GcmKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Inverse of `encryptGcm`; rejects when the tag does not authenticate `sealed` and `aad`. */
  decryptGcm(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** AES-256-CBC without padding: `data` must be a multiple of 16 bytes; output has the same length. */
  encryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** AES-256-CBC without padding or padding checks: the caller validates and strips any padding. */
  decryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional: `decryptGcm` without a promise, so `find` can decode a whole fleet in one synchronous
   * batch; throws where `decryptGcm` rejects. The node backend has it (OpenSSL is synchronous anyway).
   */
  decryptGcmSync?(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * Optional: standard base64 with padding, as strict as core's own decoder (throws `SyntaxError` on any
   * string `encodeBase64` would not produce), on native code.
   */
  decodeBase64?(text: string): Uint8Array;
  /**
   * Optional: `decryptGcmSync` that returns the plaintext as UTF-8 text (undefined when it is not valid
   * UTF-8, as a fatal `TextDecoder` decides), without handing the bytes over: a cold `find` spares one
   * buffer per record.
   */
  decryptGcmTextSync?(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): string | undefined;
  /**
   * Optional: `decodeBase64` into a buffer the backend reuses: the bytes are valid only until the next
   * call, so only a caller that uses them at once and synchronously (the batch decode of a cold `find`)
   * may take them. Spares one buffer per record. With `authenticated` the caller authenticates the
   * bytes whole (a snapshot, megabytes long), so the backend may skip its check that `text` is their
   * canonical encoding: a text that is not still decodes to bytes that must then pass AES-GCM. The
   * text may come as its bytes (ASCII: a snapshot a store read as a raw reply), as strictly checked.
   */
  decodeBase64Transient?(text: string | Uint8Array, authenticated?: boolean): Uint8Array;
}

const backendMethods = [
  'randomBytes',
  'sha256',
  'hkdfSha256',
  'importGcmKey',
  'importCbcKey',
  'encryptGcm',
  'decryptGcm',
  'encryptCbc',
  'decryptCbc',
] as const;

let defaultBackend: CryptoBackend = webCryptoBackend;

/** The backend codecs use when none is passed: Web Crypto, or `node:crypto` under the `node` export. */
export function getDefaultCryptoBackend(): CryptoBackend {
  return defaultBackend;
}

/** Replaces the default backend for codecs created afterwards; existing codecs keep theirs. */
export function setDefaultCryptoBackend(backend: CryptoBackend): void {
  assertCryptoBackend(backend);
  defaultBackend = backend;
}

/** Throws `invalid-argument` unless `backend` has every method of `CryptoBackend`. */
export function assertCryptoBackend(backend: unknown): asserts backend is CryptoBackend {
  const candidate = backend as Record<string, unknown> | null | undefined;
  const missing =
    typeof candidate !== 'object' || candidate === null
      ? ['name', ...backendMethods]
      : [
          ...(typeof candidate.name === 'string' ? [] : ['name']),
          ...backendMethods.filter((method) => typeof candidate[method] !== 'function'),
        ];
  if (missing.length > 0) {
    throw new RegistryError('invalid-argument', `crypto backend is missing: ${missing.join(', ')}`);
  }
}
