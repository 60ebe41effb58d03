import {
  assertCryptoBackend,
  type CryptoBackend,
  type GcmKey,
  getDefaultCryptoBackend,
} from '../crypto/backend.js';
import { RegistryError } from '../errors.js';
import { decodeBase64, encodeBase64, encodeBase64Url } from './base64.js';
import type { RecordCodec, SecretInput } from './codec.js';
import { normalizeSecrets } from './secrets.js';
import { concatBytes, decodeUtf8OrUndefined, encodeRecordText, encodeUtf8 } from './utf8.js';

const FORMAT_PREFIX = 'g1';
// Changing any of these makes every stored record unreadable: they are part of format `g1`.
const HKDF_SALT = encodeUtf8('service-registry/record/v1');
const KEY_INFO = encodeUtf8('aes-256-gcm key');
const KEY_ID_INFO = encodeUtf8('key id');
const KEY_BYTES = 32;
// 6 bytes are 8 base64url characters: a 1 in 2^48 chance that two secrets share an id.
const KEY_ID_BYTES = 6;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Minimum secret length for the `gcm` codec, in characters. */
export const GCM_MIN_SECRET_LENGTH = 16;

/** Options of `gcmCodec`. */
export interface GcmCodecOptions {
  /**
   * Crypto primitives. Default: `getDefaultCryptoBackend()` when the codec is created (Web Crypto, or
   * `node:crypto` when the package is loaded through its `node` export condition).
   */
  readonly backend?: CryptoBackend;
}

interface Keyring {
  readonly currentKeyId: string;
  readonly currentKey: GcmKey;
  readonly keysById: ReadonlyMap<string, GcmKey>;
}

async function deriveKeyring(backend: CryptoBackend, secrets: readonly string[]): Promise<Keyring> {
  const derived = await Promise.all(
    secrets.map(async (secret) => {
      const input = encodeUtf8(secret);
      const [raw, id] = await Promise.all([
        backend.hkdfSha256(input, HKDF_SALT, KEY_INFO, KEY_BYTES),
        backend.hkdfSha256(input, HKDF_SALT, KEY_ID_INFO, KEY_ID_BYTES),
      ]);
      const key = await backend.importGcmKey(raw);
      // The prepared key holds its own copy; do not leave key bytes lying around on the heap.
      raw.fill(0);
      input.fill(0);
      return { id: encodeBase64Url(id), key };
    }),
  );
  const keysById = new Map<string, GcmKey>();
  for (const { id, key } of derived) if (!keysById.has(id)) keysById.set(id, key);
  const [current] = derived as [(typeof derived)[number]];
  return { currentKeyId: current.id, currentKey: current.key, keysById };
}

function invalidRecord(message: string, cause?: unknown): RegistryError {
  return new RegistryError('invalid-record', message, cause === undefined ? undefined : { cause });
}

/**
 * The default record codec: AES-256-GCM, output `g1.<key id>.<base64(iv || ciphertext || tag)>`.
 *
 * The AES key and an 8-character key id are derived from each secret with HKDF-SHA-256; HKDF is not a
 * password hash, which is why secrets must have at least 16 characters (use random ones). Each value
 * gets a random 96-bit IV and is bound to its record key as additional authenticated data, so a value
 * copied to another key fails. `secret` may be a list: the first encrypts, every one decrypts, and the
 * key id picks the right one without trial decryption. Keys are derived on first use and cached.
 */
export function gcmCodec(secret: SecretInput, options: GcmCodecOptions = {}): RecordCodec {
  const secrets = normalizeSecrets(secret, { codec: 'gcm', minLength: GCM_MIN_SECRET_LENGTH });
  const backend = options.backend ?? getDefaultCryptoBackend();
  assertCryptoBackend(backend);
  let keyring: Promise<Keyring> | undefined;
  const getKeyring = (): Promise<Keyring> => {
    keyring ??= deriveKeyring(backend, secrets).catch((error: unknown) => {
      // A failure (e.g. no Web Crypto in this runtime) must not be cached for the codec's lifetime.
      keyring = undefined;
      throw error;
    });
    return keyring;
  };

  return {
    name: 'gcm',

    async encode(plaintext: string, key: string): Promise<string> {
      const plaintextBytes = encodeRecordText(plaintext, 'plaintext');
      const aad = encodeRecordText(key, 'record key');
      const { currentKey, currentKeyId } = await getKeyring();
      const iv = backend.randomBytes(IV_BYTES);
      if (iv.length !== IV_BYTES) {
        throw new RegistryError(
          'invalid-argument',
          `crypto backend returned ${iv.length} random bytes, not 12`,
        );
      }
      const sealed = await backend.encryptGcm(currentKey, iv, plaintextBytes, aad);
      return `${FORMAT_PREFIX}.${currentKeyId}.${encodeBase64(concatBytes(iv, sealed))}`;
    },

    async decode(value: string, key: string): Promise<string> {
      if (typeof value !== 'string') throw invalidRecord('gcm value is not a string');
      const aad = encodeRecordText(key, 'record key');
      const parts = value.split('.', 4);
      const [prefix, keyId, payload] = parts;
      if (parts.length !== 3 || prefix !== FORMAT_PREFIX || keyId === undefined || payload === undefined) {
        throw invalidRecord('not a gcm value (expected "g1.<key id>.<base64>")');
      }
      const { keysById } = await getKeyring();
      const gcmKey = keysById.get(keyId);
      if (gcmKey === undefined) {
        throw invalidRecord("written with an unknown key (another cluster's secret?)");
      }
      let bytes: Uint8Array;
      try {
        bytes = decodeBase64(payload);
      } catch (cause) {
        throw invalidRecord('gcm value is not valid base64', cause);
      }
      if (bytes.length < IV_BYTES + TAG_BYTES) throw invalidRecord('gcm value is truncated');
      let plaintextBytes: Uint8Array;
      try {
        plaintextBytes = await backend.decryptGcm(
          gcmKey,
          bytes.subarray(0, IV_BYTES),
          bytes.subarray(IV_BYTES),
          aad,
        );
      } catch (cause) {
        throw invalidRecord('gcm value failed authentication (tampered, or copied from another key)', cause);
      }
      const plaintext = decodeUtf8OrUndefined(plaintextBytes);
      // Authenticated yet not UTF-8: written by a foreign encoder holding our secret.
      if (plaintext === undefined) throw invalidRecord('gcm value does not hold UTF-8 text');
      return plaintext;
    },
  };
}
