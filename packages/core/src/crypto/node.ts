// The one file of core's default source tree allowed to import `node:`; only `index.node.ts` imports it.

import { Buffer } from 'node:buffer';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomFillSync,
} from 'node:crypto';
import { base64Padding } from '../codec/base64.js';
import { decodeUtf8OrUndefined } from '../codec/utf8.js';
import { RegistryError } from '../errors.js';
import type { CbcKey, CryptoBackend, GcmKey } from './backend.js';
import { assertWholeBlocks, preparedKey } from './prepared.js';

const GCM_TAG_BYTES = 16;

// IVs come from a pool filled by one randomFillSync per 4 KiB (as node's randomUUID does): a call into
// OpenSSL per 12-byte IV was a fifth of a refresh's CPU. Every byte is handed out once, as a copy.
const RANDOM_POOL_BYTES = 4096;
let randomPool = new Uint8Array(0);
let randomOffset = 0;

const keyObjects = new WeakMap<GcmKey | CbcKey, KeyObject>();

function keyObjectOf(key: GcmKey | CbcKey): KeyObject {
  return preparedKey(keyObjects, key, 'node crypto');
}

function prepare(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) {
    throw new RegistryError('invalid-argument', 'an AES-256 key must be 32 bytes');
  }
  return createSecretKey(raw);
}

// Callers get plain Uint8Arrays, as from the web backend, not Buffers that may view a shared pool.
function concat(first: Uint8Array, second: Uint8Array, third?: Uint8Array): Uint8Array {
  const out = new Uint8Array(first.length + second.length + (third?.length ?? 0));
  out.set(first);
  out.set(second, first.length);
  if (third !== undefined) out.set(third, first.length + second.length);
  return out;
}

/** The decrypted bytes as OpenSSL hands them over: a Buffer of its own per call (GCM has no tail). */
function openGcm(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  // Fail like Web Crypto does, before OpenSSL sees a short tag.
  if (sealed.length < GCM_TAG_BYTES) {
    throw new RegistryError('invalid-argument', 'AES-GCM input is shorter than its 16-byte tag');
  }
  const split = sealed.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', keyObjectOf(key), iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const head = decipher.update(sealed.subarray(0, split));
  const tail = decipher.final();
  return tail.length === 0 ? head : concat(head, tail);
}

function decryptGcmSync(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  // Node returns Buffers, often views of a shared pool: callers get plain Uint8Arrays of their own. A
  // large one (a snapshot) has its memory to itself, and is handed over as a plain view, not copied.
  const opened = openGcm(key, iv, sealed, aad);
  if (opened.byteOffset === 0 && opened.byteLength === opened.buffer.byteLength)
    return new Uint8Array(opened.buffer, 0, opened.byteLength);
  return new Uint8Array(opened);
}

// Buffer's decoder skips characters outside the alphabet and takes missing padding: only a string
// that its own encoder gives back is accepted, as strict as core's decoder and still all native code.
function assertCanonical(text: string, bytes: Buffer, length: number): void {
  if (bytes.toString('base64', 0, length) !== text) {
    throw new SyntaxError('base64 has a character outside its alphabet or misplaced padding');
  }
}

function decodeBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  assertCanonical(text, bytes, bytes.length);
  return new Uint8Array(bytes);
}

// One buffer of this module's own that transient decodes write into: a fresh Buffer per record came
// from Buffer's 8 KiB pool, and a new pool every couple of dozen records was a tenth of a cold find.
let transient = Buffer.allocUnsafeSlow(4096);

/**
 * Characters of base64 handed over as bytes that are made a string at a time: a multiple of 4, and
 * well under the 128 KiB past which V8 makes a string in its large-object space (slow on Node 20).
 */
const TEXT_CHUNK = 64 * 1024;

function decodeBase64Transient(text: string | Uint8Array, authenticated = false): Uint8Array {
  const most = Math.ceil(text.length / 4) * 3;
  if (transient.length < most) transient = Buffer.allocUnsafeSlow(Math.max(most, transient.length * 2));
  if (typeof text !== 'string') return decodeBytesTransient(text, authenticated);
  const length = transient.write(text, 0, 'base64');
  // The check encodes the bytes again: a millisecond for each 200 KB of a snapshot, which AES-GCM
  // authenticates whole anyway.
  if (!authenticated) assertCanonical(text, transient, length);
  return new Uint8Array(transient.buffer, transient.byteOffset, length);
}

/** Text given as its bytes (a raw reply), decoded a chunk at a time into `transient` (large enough). */
function decodeBytesTransient(bytes: Uint8Array, authenticated: boolean): Uint8Array {
  if (bytes.length % 4 !== 0) throw new SyntaxError('base64 length is not a multiple of 4');
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let length = 0;
  for (let start = 0; start < bytes.length; start += TEXT_CHUNK) {
    const end = Math.min(start + TEXT_CHUNK, bytes.length);
    // Padding only at the very end: Buffer's decoder would stop at it, or skip it, mid-text.
    if (end < bytes.length && (bytes[end - 1] === 61 || bytes[end - 2] === 61))
      throw new SyntaxError('base64 has misplaced padding');
    const chunk = view.toString('latin1', start, end);
    const written = transient.write(chunk, length, 'base64');
    if (!authenticated) assertCanonical(chunk, transient.subarray(length), written);
    else if (written !== ((end - start) / 4) * 3 - (end === bytes.length ? base64Padding(bytes) : 0))
      throw new SyntaxError('base64 has a character outside its alphabet or misplaced padding');
    length += written;
  }
  return new Uint8Array(transient.buffer, transient.byteOffset, length);
}

/**
 * `CryptoBackend` on `node:crypto`: synchronous OpenSSL calls, several times faster per record than
 * Web Crypto's thread-pool round trips. Output is byte-identical to `webCryptoBackend`.
 */
export const nodeCryptoBackend: CryptoBackend = {
  name: 'node',

  randomBytes(length: number): Uint8Array {
    if (length > RANDOM_POOL_BYTES / 8) return randomFillSync(new Uint8Array(length));
    if (randomOffset + length > randomPool.length) {
      randomPool = randomFillSync(new Uint8Array(RANDOM_POOL_BYTES));
      randomOffset = 0;
    }
    const out = randomPool.slice(randomOffset, randomOffset + length);
    randomOffset += length;
    return out;
  },

  async sha256(data: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(createHash('sha256').update(data).digest());
  },

  async hkdfSha256(
    input: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number,
  ): Promise<Uint8Array> {
    return new Uint8Array(hkdfSync('sha256', input, salt, info, length));
  },

  async importGcmKey(raw: Uint8Array): Promise<GcmKey> {
    const handle: GcmKey = Object.freeze({ algorithm: 'aes-256-gcm', backend: 'node' });
    keyObjects.set(handle, prepare(raw));
    return handle;
  },

  async importCbcKey(raw: Uint8Array): Promise<CbcKey> {
    const handle: CbcKey = Object.freeze({ algorithm: 'aes-256-cbc', backend: 'node' });
    keyObjects.set(handle, prepare(raw));
    return handle;
  },

  async encryptGcm(key: GcmKey, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const cipher = createCipheriv('aes-256-gcm', keyObjectOf(key), iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    return concat(head, tail, cipher.getAuthTag());
  },

  async decryptGcm(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return decryptGcmSync(key, iv, sealed, aad);
  },

  decryptGcmSync,

  decryptGcmTextSync(key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): string | undefined {
    // Decoded straight from OpenSSL's Buffer: no copy, since only the text leaves.
    return decodeUtf8OrUndefined(openGcm(key, iv, sealed, aad));
  },

  decodeBase64,
  decodeBase64Transient,

  async encryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    assertWholeBlocks(data);
    const cipher = createCipheriv('aes-256-cbc', keyObjectOf(key), iv).setAutoPadding(false);
    return concat(cipher.update(data), cipher.final());
  },

  async decryptCbc(key: CbcKey, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    assertWholeBlocks(data);
    const decipher = createDecipheriv('aes-256-cbc', keyObjectOf(key), iv).setAutoPadding(false);
    return concat(decipher.update(data), decipher.final());
  },
};
