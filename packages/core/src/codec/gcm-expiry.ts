// The expiry field of a gcm `g2` value: `g2.<key id>.<base64(iv || ciphertext || tag)>.<mac>.<expiry>`.
// The GCM body holds the record without its expiry, so it stays byte-identical across routine
// refreshes; the expiry beside it is authenticated by HMAC-SHA-256 (first 16 bytes, base64url) over
// the format, the key id, the body's IV and tag (which stand for the whole body: the tag authenticates
// it), the record's full key and the expiry's exact characters.
import {
  absorbBlocks,
  finishHmacSha256,
  type HmacSha256Key,
  type Sha256State,
} from '../crypto/hmac-sha256.js';
import { RegistryError } from '../errors.js';

export const G2_PREFIX = 'g2';
export const MAC_CHARS = 22;
const MAC_BYTES = 16;
/** Longest expiry field: `String()` of any ms timestamp is far shorter, and a tail this short is one block. */
const MAX_EXPIRY_CHARS = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const IV_TAG_BYTES = IV_BYTES + TAG_BYTES;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const alphabetCodes = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0));
const tail = new Uint8Array(MAX_EXPIRY_CHARS);
const digest = new Uint8Array(32);
const macCodes = new Uint8Array(MAC_CHARS);
/** The fixed MAC input of a record key up to 86 bytes (two blocks). */
const fixedScratch = new Uint8Array(128);
/** Digits read by the fast path: any integer of up to 15 digits is exact in a double (2^53 has 16). */
const FAST_DIGITS = 15;

/** A record's MAC input up to its expiry, hashed: what every refresh of one body shares. */
export interface MacPrefix {
  readonly macKey: HmacSha256Key;
  readonly midstate: Sha256State;
  readonly absorbed: number;
}

/** The fixed part of the MAC input, zero-padded to whole SHA-256 blocks (its length is inside it). */
export function macPrefix(
  macKey: HmacSha256Key,
  keyId: string,
  iv: Uint8Array,
  tag: Uint8Array,
  recordKey: Uint8Array,
): MacPrefix {
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || keyId.length !== 8) {
    throw new RegistryError('invalid-argument', 'a g2 MAC needs an 8-character key id, 12-byte IV and tag');
  }
  const used = 2 + 8 + IV_TAG_BYTES + 4 + recordKey.length;
  const length = Math.ceil(used / 64) * 64;
  // Absorbed at once and not kept: a buffer of this module's own spares a cold find one per record.
  const fixed = length <= fixedScratch.length ? fixedScratch.subarray(0, length) : new Uint8Array(length);
  let at = 0;
  fixed[at++] = G2_PREFIX.charCodeAt(0);
  fixed[at++] = G2_PREFIX.charCodeAt(1);
  for (let index = 0; index < 8; index++) fixed[at++] = keyId.charCodeAt(index) & 255;
  fixed.set(iv, at);
  fixed.set(tag, at + IV_BYTES);
  at += IV_TAG_BYTES;
  const keyLength = recordKey.length;
  fixed[at++] = keyLength >>> 24;
  fixed[at++] = (keyLength >>> 16) & 255;
  fixed[at++] = (keyLength >>> 8) & 255;
  fixed[at++] = keyLength & 255;
  fixed.set(recordKey, at);
  fixed.fill(0, used);
  return { macKey, midstate: absorbBlocks(macKey.inner, fixed), absorbed: fixed.length };
}

function computeMac(prefix: MacPrefix, value: string, start: number, end: number): void {
  const length = end - start;
  for (let index = 0; index < length; index++) tail[index] = value.charCodeAt(start + index) & 255;
  finishHmacSha256(prefix.macKey, prefix.midstate, prefix.absorbed, tail, length, digest);
}

/** The first 16 bytes of `digest` in base64url without padding (22 characters), into `macCodes`. */
function encodeMac(): void {
  for (let group = 0; group < 5; group++) {
    const first = digest[group * 3] as number;
    const second = digest[group * 3 + 1] as number;
    const third = digest[group * 3 + 2] as number;
    macCodes[group * 4] = alphabetCodes[first >> 2] as number;
    macCodes[group * 4 + 1] = alphabetCodes[((first & 3) << 4) | (second >> 4)] as number;
    macCodes[group * 4 + 2] = alphabetCodes[((second & 15) << 2) | (third >> 6)] as number;
    macCodes[group * 4 + 3] = alphabetCodes[third & 63] as number;
  }
  const last = digest[MAC_BYTES - 1] as number;
  macCodes[20] = alphabetCodes[last >> 2] as number;
  macCodes[21] = alphabetCodes[(last & 3) << 4] as number;
}

/** `macCodes` as a string: 22 arguments named, not spread (a spread of a typed array is far slower). */
function macString(): string {
  const m = macCodes;
  return String.fromCharCode(
    m[0] as number,
    m[1] as number,
    m[2] as number,
    m[3] as number,
    m[4] as number,
    m[5] as number,
    m[6] as number,
    m[7] as number,
    m[8] as number,
    m[9] as number,
    m[10] as number,
    m[11] as number,
    m[12] as number,
    m[13] as number,
    m[14] as number,
    m[15] as number,
    m[16] as number,
    m[17] as number,
    m[18] as number,
    m[19] as number,
    m[20] as number,
    m[21] as number,
  );
}

/** The MAC field for `expiry` (its exact characters). */
export function macText(prefix: MacPrefix, expiry: string): string {
  computeMac(prefix, expiry, 0, expiry.length);
  encodeMac();
  return macString();
}

/**
 * Whether `value[macStart, macStart + 22)` is the MAC of the expiry `value[expiryStart, end)`, compared
 * in constant time. The expiry must be at most 32 characters (checked by `parseExpiry` first).
 */
export function macMatches(prefix: MacPrefix, value: string, macStart: number, expiryStart: number): boolean {
  computeMac(prefix, value, expiryStart, value.length);
  encodeMac();
  let difference = 0;
  for (let index = 0; index < MAC_CHARS; index++) {
    difference |= (macCodes[index] as number) ^ value.charCodeAt(macStart + index);
  }
  return difference === 0;
}

/** The expiry field of `expiresAt`; `invalid-argument` when it is not a finite number. */
export function expiryText(expiresAt: number): string {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new RegistryError('invalid-argument', 'expiresAt must be a finite number of ms');
  }
  const text = String(expiresAt);
  if (text.length > MAX_EXPIRY_CHARS)
    throw new RegistryError('invalid-argument', 'expiresAt is out of range');
  return text;
}

/** The expiry in `value[start, end)`: undefined unless it is exactly what `expiryText` writes. */
export function parseExpiry(value: string, start: number): number | undefined {
  const length = value.length - start;
  if (length < 1 || length > MAX_EXPIRY_CHARS) return undefined;
  // What registries write: an integer of ms, digits only, no leading zero. Read without a slice; it is
  // exactly what `String()` writes. Anything else takes the general check below.
  if (length <= FAST_DIGITS && (length === 1 || value.charCodeAt(start) !== 48)) {
    let expiresAt = 0;
    let index = start;
    for (; index < value.length; index++) {
      const digit = value.charCodeAt(index) - 48;
      if (digit < 0 || digit > 9) break;
      expiresAt = expiresAt * 10 + digit;
    }
    if (index === value.length) return expiresAt;
  }
  const text = value.slice(start);
  const expiresAt = Number(text);
  return Number.isFinite(expiresAt) && String(expiresAt) === text ? expiresAt : undefined;
}

/** Where the fields of a `g2` value start; undefined when its shape is wrong. */
export interface G2Fields {
  readonly keyId: string;
  readonly payload: string;
  /** Index of the `.` that ends the body `g2.<key id>.<payload>`. */
  readonly bodyEnd: number;
  readonly expiresAt: number;
}

export function splitG2(value: string): G2Fields | undefined {
  const bodyEnd = g2BodyEnd(value);
  if (bodyEnd < 0) return undefined;
  const keyEnd = value.indexOf('.', 3);
  const expiresAt = parseExpiry(value, bodyEnd + MAC_CHARS + 2) as number;
  return { keyId: value.slice(3, keyEnd), payload: value.slice(keyEnd + 1, bodyEnd), bodyEnd, expiresAt };
}

/**
 * Where the body of a `g2` value ends (its `G2Fields.bodyEnd`), or -1 when its shape is wrong: what
 * `splitG2` checks, with nothing allocated.
 */
export function g2BodyEnd(value: string): number {
  if (!value.startsWith('g2.')) return -1;
  const keyEnd = value.indexOf('.', 3);
  if (keyEnd < 0) return -1;
  const bodyEnd = value.indexOf('.', keyEnd + 1);
  if (bodyEnd < 0 || value.charCodeAt(bodyEnd + 1 + MAC_CHARS) !== 46) return -1;
  return parseExpiry(value, bodyEnd + MAC_CHARS + 2) === undefined ? -1 : bodyEnd;
}
