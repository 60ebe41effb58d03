import {
  assertCryptoBackend,
  type CbcKey,
  type CryptoBackend,
  getDefaultCryptoBackend,
} from '../crypto/backend.js';
import { RegistryError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import type { RecordCodec, SecretInput } from './codec.js';
import { normalizeSecrets } from './secrets.js';
import { concatBytes, decodeUtf8OrUndefined, encodeRecordText, encodeUtf8 } from './utf8.js';

const BLOCK_BYTES = 16;

/** Options of `apicrudCodec`. */
export interface ApicrudCodecOptions {
  /**
   * Crypto primitives. Default: `getDefaultCryptoBackend()` when the codec is created (Web Crypto, or
   * `node:crypto` when the package is loaded through its `node` export condition).
   */
  readonly backend?: CryptoBackend;
}

function pad(bytes: Uint8Array): Uint8Array {
  const padLength = BLOCK_BYTES - (bytes.length % BLOCK_BYTES);
  const padded = new Uint8Array(bytes.length + padLength);
  padded.set(bytes);
  padded.fill(padLength, bytes.length);
  return padded;
}

// apicrud's own `_unpad` trusts the last byte blindly; checking the whole pad rejects most wrong-secret
// decryptions, which matters because this format has no key id and no authentication.
function unpadOrUndefined(bytes: Uint8Array): Uint8Array | undefined {
  const padLength = bytes[bytes.length - 1];
  if (padLength === undefined || padLength < 1 || padLength > BLOCK_BYTES || padLength > bytes.length) {
    return undefined;
  }
  for (let index = bytes.length - padLength; index < bytes.length - 1; index++) {
    if (bytes[index] !== padLength) return undefined;
  }
  return bytes.subarray(0, bytes.length - padLength);
}

function invalidRecord(message: string, cause?: unknown): RegistryError {
  return new RegistryError('invalid-record', message, cause === undefined ? undefined : { cause });
}

/**
 * Byte-compatible with Python apicrud's `AESEncrypt`, so TypeScript and Python services can share one
 * registry: key = SHA-256(UTF-8 secret), AES-256-CBC, random 16-byte IV, PKCS#7 padding, output
 * `base64(iv || ciphertext)`.
 *
 * The format has no authentication: it hides records but cannot detect tampering or a value copied to
 * another key (the `key` argument is ignored), so prefer `gcmCodec` unless Python services read the
 * registry. It has no key id either: with a list of secrets (first encrypts), decode tries each in turn.
 * Secrets may be any non-empty string, as in apicrud, which has no length rule; keep them long and random.
 * apicrud pads characters, not bytes, so it cannot write non-ASCII text; this codec pads bytes, which
 * apicrud reads back correctly.
 */
export function apicrudCodec(secret: SecretInput, options: ApicrudCodecOptions = {}): RecordCodec {
  const secrets = normalizeSecrets(secret, { codec: 'apicrud', minLength: 1 });
  const backend = options.backend ?? getDefaultCryptoBackend();
  assertCryptoBackend(backend);
  let keys: Promise<readonly CbcKey[]> | undefined;
  const getKeys = (): Promise<readonly CbcKey[]> => {
    keys ??= Promise.all(
      secrets.map(async (entry) => {
        const raw = await backend.sha256(encodeUtf8(entry));
        const key = await backend.importCbcKey(raw);
        raw.fill(0);
        return key;
      }),
    ).catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return keys;
  };

  return {
    name: 'apicrud',

    async encode(plaintext: string, _key: string): Promise<string> {
      const padded = pad(encodeRecordText(plaintext, 'plaintext'));
      const [currentKey] = (await getKeys()) as [CbcKey];
      const iv = backend.randomBytes(BLOCK_BYTES);
      if (iv.length !== BLOCK_BYTES) {
        throw new RegistryError(
          'invalid-argument',
          `crypto backend returned ${iv.length} random bytes, not 16`,
        );
      }
      return encodeBase64(concatBytes(iv, await backend.encryptCbc(currentKey, iv, padded)));
    },

    async decode(value: string, _key: string): Promise<string> {
      if (typeof value !== 'string') throw invalidRecord('apicrud value is not a string');
      let bytes: Uint8Array;
      try {
        bytes = decodeBase64(value);
      } catch (cause) {
        throw invalidRecord('apicrud value is not valid base64', cause);
      }
      if (bytes.length < 2 * BLOCK_BYTES || bytes.length % BLOCK_BYTES !== 0) {
        throw invalidRecord('apicrud value is not a 16-byte IV followed by whole 16-byte blocks');
      }
      const iv = bytes.subarray(0, BLOCK_BYTES);
      const ciphertext = bytes.subarray(BLOCK_BYTES);
      for (const key of await getKeys()) {
        const unpadded = unpadOrUndefined(await backend.decryptCbc(key, iv, ciphertext));
        const plaintext = unpadded === undefined ? undefined : decodeUtf8OrUndefined(unpadded);
        if (plaintext !== undefined) return plaintext;
      }
      throw invalidRecord(
        'apicrud value has bad padding or is not UTF-8 under every secret (wrong secret, or not an apicrud value)',
      );
    },
  };
}
