import type { CryptoBackend, GcmKey } from '../crypto/backend.js';
import { type HmacSha256Key, hmacSha256Key } from '../crypto/hmac-sha256.js';
import { encodeBase64Url } from './base64.js';
import { encodeUtf8 } from './utf8.js';

// Changing any of these makes every stored record unreadable: they are part of formats `g1` and `g2`.
const HKDF_SALT = encodeUtf8('service-registry/record/v1');
const KEY_INFO = encodeUtf8('aes-256-gcm key');
const KEY_ID_INFO = encodeUtf8('key id');
// Format `g2` only: the key of the HMAC that authenticates the expiry beside the ciphertext.
const EXPIRY_MAC_INFO = encodeUtf8('g2 expiry hmac-sha-256 key');
const KEY_BYTES = 32;
// 6 bytes are 8 base64url characters: a 1 in 2^48 chance that two secrets share an id.
const KEY_ID_BYTES = 6;

/** The keys one secret gives. */
export interface SecretKeys {
  readonly id: string;
  readonly gcm: GcmKey;
  readonly mac: HmacSha256Key;
}

export interface Keyring {
  readonly current: SecretKeys;
  readonly byId: ReadonlyMap<string, SecretKeys>;
}

export async function deriveKeyring(backend: CryptoBackend, secrets: readonly string[]): Promise<Keyring> {
  const derived = await Promise.all(
    secrets.map(async (secret): Promise<SecretKeys> => {
      const input = encodeUtf8(secret);
      const [raw, id, macRaw] = await Promise.all([
        backend.hkdfSha256(input, HKDF_SALT, KEY_INFO, KEY_BYTES),
        backend.hkdfSha256(input, HKDF_SALT, KEY_ID_INFO, KEY_ID_BYTES),
        backend.hkdfSha256(input, HKDF_SALT, EXPIRY_MAC_INFO, KEY_BYTES),
      ]);
      const gcm = await backend.importGcmKey(raw);
      const mac = hmacSha256Key(macRaw);
      // The prepared keys hold their own state; do not leave key bytes lying around on the heap.
      raw.fill(0);
      macRaw.fill(0);
      input.fill(0);
      return { id: encodeBase64Url(id), gcm, mac };
    }),
  );
  const byId = new Map<string, SecretKeys>();
  for (const keys of derived) if (!byId.has(keys.id)) byId.set(keys.id, keys);
  return { current: derived[0] as SecretKeys, byId };
}
