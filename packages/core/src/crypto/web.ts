import { RegistryError } from '../errors.js';
import type { CbcKey, CryptoBackend, GcmKey } from './backend.js';
import { hkdfSha256 } from './hmac-sha256.js';
import { AES_BLOCK_BYTES, assertWholeBlocks, preparedKey } from './prepared.js';

const GCM_TAG_BITS = 128;
// getRandomValues refuses more than 65,536 bytes per call.
const RANDOM_CHUNK_BYTES = 65_536;
// A plaintext block that is exactly one full PKCS#7 padding block (16 bytes of 0x10).
const FULL_PADDING_BLOCK = new Uint8Array(AES_BLOCK_BYTES).fill(AES_BLOCK_BYTES);

// Prepared keys are plain frozen objects; the CryptoKey stays here so it never leaks through the handle.
const cryptoKeys = new WeakMap<GcmKey | CbcKey, CryptoKey>();

function subtle(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

// TypeScript's DOM lib types BufferSource as ArrayBuffer-backed only; Web Crypto itself checks at run time.
function source(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

function cryptoKeyOf(key: GcmKey | CbcKey): CryptoKey {
  return preparedKey(cryptoKeys, key, 'web crypto');
}

async function importAesKey(raw: Uint8Array, name: 'AES-GCM' | 'AES-CBC'): Promise<CryptoKey> {
  if (raw.length !== 32) {
    throw new RegistryError('invalid-argument', 'an AES-256 key must be 32 bytes');
  }
  // CBC keys also need `encrypt` for the unpadded-decrypt construction below.
  return subtle().importKey('raw', source(raw), name, false, ['encrypt', 'decrypt']);
}

/**
 * `CryptoBackend` on the Web Crypto API: Node 20+, Deno, Bun, browsers, Cloudflare Workers, Vercel Edge.
 *
 * Web Crypto's AES-CBC always adds PKCS#7 padding on encrypt and checks it on decrypt, while the
 * backend contract is unpadded CBC. CBC is a chain, so:
 * - encrypt: the first n blocks Web Crypto returns do not depend on the padding block it appends;
 *   drop that final block.
 * - decrypt: append one forged block F = E_K(P ^ C_n), where C_n is the last ciphertext block and P a
 *   full padding block (16 x 0x10). CBC decrypts F to D_K(F) ^ C_n = P,
 *   a valid padding block that Web Crypto strips, returning exactly the n unpadded plaintext blocks,
 *   whatever bytes they hold. F is the first output block of a padded CBC encrypt of P with IV = C_n.
 * That costs one extra 16-byte encrypt per decrypt, but no padding oracle and no key material
 * outside Web Crypto.
 */
export const webCryptoBackend: CryptoBackend = {
  name: 'web',

  randomBytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += RANDOM_CHUNK_BYTES) {
      globalThis.crypto.getRandomValues(bytes.subarray(offset, offset + RANDOM_CHUNK_BYTES));
    }
    return bytes;
  },

  async sha256(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle().digest('SHA-256', source(data)));
  },

  // Core's HKDF in JavaScript, not Web Crypto's: byte for byte the same keys, without two thread-pool
  // jobs per key that a fresh reader would wait for (three keys per secret) before its first record.
  async hkdfSha256(
    input: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number,
  ): Promise<Uint8Array> {
    return hkdfSha256(input, salt, info, length);
  },

  async importGcmKey(raw: Uint8Array): Promise<GcmKey> {
    const handle: GcmKey = Object.freeze({ algorithm: 'aes-256-gcm', backend: 'web' });
    cryptoKeys.set(handle, await importAesKey(raw, 'AES-GCM'));
    return handle;
  },

  async importCbcKey(raw: Uint8Array): Promise<CbcKey> {
    const handle: CbcKey = Object.freeze({ algorithm: 'aes-256-cbc', backend: 'web' });
    cryptoKeys.set(handle, await importAesKey(raw, 'AES-CBC'));
    return handle;
  },

  async encryptGcm(key: GcmKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const algorithm = {
      name: 'AES-GCM',
      iv: source(iv),
      additionalData: source(aad),
      tagLength: GCM_TAG_BITS,
    };
    return new Uint8Array(await subtle().encrypt(algorithm, cryptoKeyOf(key), source(plaintext)));
  },

  async decryptGcm(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const algorithm = {
      name: 'AES-GCM',
      iv: source(iv),
      additionalData: source(aad),
      tagLength: GCM_TAG_BITS,
    };
    return new Uint8Array(await subtle().decrypt(algorithm, cryptoKeyOf(key), source(sealed)));
  },

  async encryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    assertWholeBlocks(data);
    const padded = await subtle().encrypt(
      { name: 'AES-CBC', iv: source(iv) },
      cryptoKeyOf(key),
      source(data),
    );
    return new Uint8Array(padded, 0, data.length);
  },

  async decryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    assertWholeBlocks(data);
    if (data.length === 0) return new Uint8Array(0);
    const cryptoKey = cryptoKeyOf(key);
    const lastBlock = data.subarray(data.length - AES_BLOCK_BYTES);
    const forged = await subtle().encrypt(
      { name: 'AES-CBC', iv: source(lastBlock) },
      cryptoKey,
      FULL_PADDING_BLOCK,
    );
    const extended = new Uint8Array(data.length + AES_BLOCK_BYTES);
    extended.set(data);
    extended.set(new Uint8Array(forged, 0, AES_BLOCK_BYTES), data.length);
    return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv: source(iv) }, cryptoKey, extended));
  },
};
