import {
  assertCryptoBackend,
  type CryptoBackend,
  type GcmKey,
  getDefaultCryptoBackend,
} from '../crypto/backend.js';
import { RegistryError } from '../errors.js';
import { decodeBase64, decodeBase64Bytes, encodeBase64 } from './base64.js';
import type { DecodedRecord, RecordBody, RecordCodec, SecretInput } from './codec.js';
import {
  expiryText,
  G2_PREFIX,
  type G2Fields,
  g2BodyEnd,
  IV_BYTES,
  MAC_CHARS,
  type MacPrefix,
  macMatches,
  macPrefix,
  macText,
  parseExpiry,
  splitG2,
  TAG_BYTES,
} from './gcm-expiry.js';
import { deriveKeyring, type Keyring, type SecretKeys } from './gcm-keyring.js';
import { normalizeSecrets } from './secrets.js';
import { concatBytes, decodeUtf8OrUndefined, encodeKeyTransient, encodeRecordText } from './utf8.js';

const G1_PREFIX = 'g1';
/**
 * Records whose last body one codec remembers, to write it again while only the expiry changes (about
 * 1 KiB each). A process writing more records through one codec object gets fresh IVs for the oldest.
 */
const WRITER_CACHE_LIMIT = 16_384;
const EXPIRY_FAILED = 'gcm value failed authentication of its expiry (tampered, moved or forged)';
/** Minimum secret length for the `gcm` codec, in characters. */
export const GCM_MIN_SECRET_LENGTH = 16;

/** Options of `gcmCodec`. */
export interface GcmCodecOptions {
  /**
   * Crypto primitives. Default: `getDefaultCryptoBackend()` when the codec is created (Web Crypto, or
   * `node:crypto` when the package is loaded through its `node` export condition).
   */
  readonly backend?: CryptoBackend;
  /**
   * What registries write: `g2` (default) keeps the ciphertext across routine refreshes, `g1` puts the
   * expiry inside it, as releases before `g2` did and can read: for a rolling upgrade of a fleet whose
   * readers are not all new yet. Both are always read.
   */
  readonly format?: 'g1' | 'g2';
}

/**
 * A snapshot's additional data: its name behind a NUL, which no record key holds, so neither a record
 * nor a snapshot decrypts as the other.
 */
function snapshotAad(name: string): string {
  return `\u0000snapshot\u0000${name}`;
}

function invalidRecord(message: string, cause?: unknown): RegistryError {
  return new RegistryError('invalid-record', message, cause === undefined ? undefined : { cause });
}

/** Characters of a `g2` body up to the end of its IV: `g2.`, the key id, `.`, 16 of base64. */
const HEAD_CHARS = 28;
/** The last characters of a `g2` body: at least the 16 bytes of its tag, whatever the padding. */
const TAG_CHARS = 24;
/** What a sealed snapshot starts with. */
const SNAPSHOT_PREFIX = 's1';

const asciiDecoder = new TextDecoder();

/**
 * The key id and base64 payload of a sealed snapshot, `s1.<key id>.<payload>`, as text or as the bytes
 * a store read it as (the payload then stays bytes: its text would be one large string to make).
 */
function splitSnapshot(
  value: string | Uint8Array,
): { keyId: string; payload: string | Uint8Array } | undefined {
  if (typeof value === 'string') {
    const parts = value.split('.', 4);
    if (parts.length !== 3 || parts[0] !== SNAPSHOT_PREFIX) return undefined;
    return { keyId: parts[1] as string, payload: parts[2] as string };
  }
  if (!(value instanceof Uint8Array)) return undefined;
  const first = value.indexOf(46);
  const second = first < 0 ? -1 : value.indexOf(46, first + 1);
  if (second < 0 || value.indexOf(46, second + 1) >= 0) return undefined;
  if (asciiDecoder.decode(value.subarray(0, first)) !== SNAPSHOT_PREFIX) return undefined;
  return {
    keyId: asciiDecoder.decode(value.subarray(first + 1, second)),
    payload: value.subarray(second + 1),
  };
}

/**
 * A `g2` body: checks later values of its key against it and its MAC prefix. A body decoded from its
 * value has the prefix at once; one restored for a snapshot (`bodyOf`) computes it on first use.
 */
class G2Body implements RecordBody {
  readonly #body: string;
  #prefix: MacPrefix | undefined;
  /** For a restored body: how to compute the prefix, and from what (kept here, not in a closure). */
  readonly #restore: RestorePrefix | undefined;
  readonly #keys: SecretKeys | undefined;
  readonly #key: string | (() => string) | undefined;
  /**
   * For a restored body: the value it was cut from. Asked of that very value (a snapshot's record, at
   * once), the body is known to start it, without comparing hundreds of characters.
   */
  readonly #from: string | undefined;

  constructor(body: string, prefix: MacPrefix);
  constructor(
    body: string,
    prefix: undefined,
    restore: RestorePrefix,
    keys: SecretKeys,
    key: string | (() => string),
    from: string,
  );
  constructor(
    body: string,
    prefix: MacPrefix | undefined,
    restore?: RestorePrefix,
    keys?: SecretKeys,
    key?: string | (() => string),
    from?: string,
  ) {
    this.#body = body;
    this.#prefix = prefix;
    this.#restore = restore;
    this.#keys = keys;
    this.#key = key;
    this.#from = from;
  }

  get mark(): string {
    const body = this.#body;
    return `${body.length}.${body.slice(0, HEAD_CHARS)}.${body.slice(-TAG_CHARS)}`;
  }

  hasMark(text: string, start: number, end: number): boolean {
    // Read in place, without building the mark: a cold find asks this of every record a snapshot
    // vouches for. Runs are compared as slices: `===` of two slices is one memory comparison, where a
    // loop of `charCodeAt` over them (the body is itself a slice) cost a cold find of 1,000 records
    // more than a millisecond.
    const body = this.#body;
    const length = body.length;
    // The length in front, read as digits up to its `.`.
    let stated = 0;
    let at = start;
    for (; at < end; at++) {
      const digit = text.charCodeAt(at) - 48;
      if (digit < 0 || digit > 9) break;
      stated = stated * 10 + digit;
    }
    const headAt = at + 1;
    const tagAt = headAt + HEAD_CHARS + 1;
    if (at === start || stated !== length || end !== tagAt + TAG_CHARS) return false;
    if (text.charCodeAt(at) !== 46 || text.charCodeAt(tagAt - 1) !== 46) return false;
    if (text.slice(headAt, headAt + HEAD_CHARS) !== body.slice(0, HEAD_CHARS)) return false;
    return text.slice(tagAt, end) === body.slice(length - TAG_CHARS);
  }

  /** Whether `value` starts with this body and a `.`. */
  #startsWithBody(value: string): boolean {
    if (value === this.#from) return true;
    const bodyEnd = this.#body.length;
    // A slice compared with `===` is a memory comparison; `startsWith` with a prefix this long walks it
    // character by character, several times slower, and this runs once per refreshed record of a find.
    return value.charCodeAt(bodyEnd) === 46 && value.slice(0, bodyEnd) === this.#body;
  }

  macOf(value: string): string | undefined {
    const macStart = this.#body.length + 1;
    return this.claimedExpiry(value) === undefined ? undefined : value.slice(macStart, macStart + MAC_CHARS);
  }

  hasTail(value: string, text: string, start: number, end: number, expiresAt: number): boolean {
    if (end - start !== MAC_CHARS || this.claimedExpiry(value) !== expiresAt) return false;
    // As slices, one memory comparison (see `hasMark`).
    const macStart = this.#body.length + 1;
    return value.slice(macStart, macStart + MAC_CHARS) === text.slice(start, end);
  }

  claimedExpiry(value: string): number | undefined {
    if (!this.#startsWithBody(value)) return undefined;
    const expiryStart = this.#body.length + MAC_CHARS + 2;
    return value.charCodeAt(expiryStart - 1) === 46 ? parseExpiry(value, expiryStart) : undefined;
  }

  sameBody(value: string): number | undefined {
    if (!this.#startsWithBody(value)) return undefined;
    const bodyEnd = this.#body.length;
    const expiryStart = bodyEnd + MAC_CHARS + 2;
    if (value.charCodeAt(expiryStart - 1) !== 46) throw invalidRecord('gcm value has no expiry field');
    const expiresAt = parseExpiry(value, expiryStart);
    if (this.#prefix === undefined) {
      const key = this.#key as string | (() => string);
      this.#prefix = (this.#restore as RestorePrefix)(
        this.#body,
        this.#keys as SecretKeys,
        typeof key === 'string' ? key : key(),
      );
    }
    if (expiresAt === undefined || !macMatches(this.#prefix, value, bodyEnd + 1, expiryStart)) {
      throw invalidRecord(EXPIRY_FAILED);
    }
    return expiresAt;
  }
}

/** The MAC prefix of a `g2` body (`g2.<key id>.<payload>`) at record key `key`. */
type RestorePrefix = (body: string, keys: SecretKeys, key: string) => MacPrefix;

/** A value split and checked up to its decryption. */
interface Sealed {
  readonly keys: SecretKeys;
  readonly iv: Uint8Array;
  readonly sealed: Uint8Array;
  readonly aad: Uint8Array;
  readonly g2?: { readonly fields: G2Fields; readonly prefix: MacPrefix };
}

interface WrittenBody {
  readonly content: string;
  readonly keyId: string;
  readonly body: string;
  readonly prefix: MacPrefix;
}

/**
 * The default record codec: AES-256-GCM. `encode` writes `g1.<key id>.<base64(iv || ciphertext || tag)>`
 * (the record, expiry included, inside the ciphertext). `encodeRecord`, which registries use, writes
 * `g2.<key id>.<base64(iv || ciphertext || tag)>.<mac>.<expiry>`: the ciphertext holds the record
 * without its expiry and is written again unchanged, IV and all, while the content and the key stay
 * the same (any change gets a fresh IV), so readers' caches survive routine refreshes; the expiry
 * beside it is authenticated by HMAC-SHA-256 over the format, key id, IV, tag, record key and expiry.
 *
 * The AES key, an HMAC key and an 8-character key id are derived from each secret with HKDF-SHA-256;
 * HKDF is not a password hash, which is why secrets must have at least 16 characters (use random ones).
 * Each value is bound to its record key (GCM additional data, and the MAC), so a value copied to another
 * key fails. `secret` may be a list: the first encrypts, every one decrypts, and the key id picks the
 * right one without trial decryption. Keys are derived on first use and cached. Both formats decode.
 */
export function gcmCodec(secret: SecretInput, options: GcmCodecOptions = {}): RecordCodec {
  const secrets = normalizeSecrets(secret, { codec: 'gcm', minLength: GCM_MIN_SECRET_LENGTH });
  const backend = options.backend ?? getDefaultCryptoBackend();
  assertCryptoBackend(backend);
  const format = options.format ?? 'g2';
  if (format !== 'g1' && format !== 'g2') {
    throw new RegistryError('invalid-argument', 'gcm codec format must be "g1" or "g2"');
  }
  let keyring: Promise<Keyring> | undefined;
  let ready: Keyring | undefined;
  const getKeyring = (): Promise<Keyring> => {
    keyring ??= deriveKeyring(backend, secrets).then(
      (derived) => {
        ready = derived;
        return derived;
      },
      (error: unknown) => {
        // A failure (e.g. no Web Crypto in this runtime) must not be cached for the codec's lifetime.
        keyring = undefined;
        throw error;
      },
    );
    return keyring;
  };
  const written = new Map<string, WrittenBody>();
  const decodeBytes = backend.decodeBase64 ?? decodeBase64;
  // Base64 as the store answered it: text, or the text's bytes (a snapshot read as a raw reply).
  const decodeAny = (text: string | Uint8Array): Uint8Array =>
    typeof text === 'string' ? decodeBytes(text) : decodeBase64Bytes(text);
  // Bytes a synchronous decode uses at once: a backend's reused buffer will do.
  const decodeTransient: (text: string | Uint8Array, authenticated?: boolean) => Uint8Array =
    backend.decodeBase64Transient ?? decodeAny;

  const seal = async (plaintext: string, key: string, keys: SecretKeys): Promise<Uint8Array> => {
    const iv = backend.randomBytes(IV_BYTES);
    if (iv.length !== IV_BYTES) {
      throw new RegistryError(
        'invalid-argument',
        `crypto backend returned ${iv.length} random bytes, not 12`,
      );
    }
    const aad = encodeRecordText(key, 'record key');
    return concatBytes(
      iv,
      await backend.encryptGcm(keys.gcm, iv, encodeRecordText(plaintext, 'plaintext'), aad),
    );
  };

  // `transient`: the caller decrypts at once (the synchronous batch), so the bytes may sit in buffers
  // the next call reuses.
  const open = (value: string, key: string, ring: Keyring, transient = false): Sealed => {
    if (typeof value !== 'string') throw invalidRecord('gcm value is not a string');
    const aad = transient ? encodeKeyTransient(key) : encodeRecordText(key, 'record key');
    const decode = transient ? decodeTransient : decodeBytes;
    let keyId: string | undefined;
    let payload: string | undefined;
    let fields: G2Fields | undefined;
    if (value.startsWith(`${G2_PREFIX}.`)) {
      fields = splitG2(value);
      if (fields === undefined)
        throw invalidRecord('not a gcm value (expected "g2.<key id>.<base64>.<mac>.<expiry>")');
      ({ keyId, payload } = fields);
    } else {
      const parts = value.split('.', 4);
      if (parts.length === 3 && parts[0] === G1_PREFIX) [, keyId, payload] = parts;
      if (keyId === undefined || payload === undefined) {
        throw invalidRecord('not a gcm value (expected "g1.<key id>.<base64>")');
      }
    }
    const keys = ring.byId.get(keyId);
    if (keys === undefined) throw invalidRecord("written with an unknown key (another cluster's secret?)");
    let bytes: Uint8Array;
    try {
      bytes = decode(payload);
    } catch (cause) {
      throw invalidRecord('gcm value is not valid base64', cause);
    }
    if (bytes.length < IV_BYTES + TAG_BYTES) throw invalidRecord('gcm value is truncated');
    const iv = bytes.subarray(0, IV_BYTES);
    const sealed = bytes.subarray(IV_BYTES);
    if (fields === undefined) return { keys, iv, sealed, aad };
    const prefix = macPrefix(keys.mac, keyId, iv, sealed.subarray(sealed.length - TAG_BYTES), aad);
    // The expiry is checked before decrypting: a forged one costs no AES.
    if (!macMatches(prefix, value, fields.bodyEnd + 1, fields.bodyEnd + MAC_CHARS + 2)) {
      throw invalidRecord(EXPIRY_FAILED);
    }
    return { keys, iv, sealed, aad, g2: { fields, prefix } };
  };

  const finish = (opened: Sealed, plaintext: string | undefined, value: string): DecodedRecord => {
    // Authenticated yet not UTF-8: written by a foreign encoder holding our secret.
    if (plaintext === undefined) throw invalidRecord('gcm value does not hold UTF-8 text');
    if (opened.g2 === undefined) return { plaintext };
    const { fields, prefix } = opened.g2;
    return {
      plaintext,
      expiresAt: fields.expiresAt,
      body: new G2Body(value.slice(0, fields.bodyEnd), prefix),
    };
  };

  // The MAC prefix costs a base64 decode and two SHA-256 blocks: a body restored for a snapshot
  // (`bodyOf`) computes it only when a value's expiry must be checked, not for every record.
  const restorePrefix: RestorePrefix = (body, keys, key) => {
    const bytes = decodeBytes(body.slice(body.indexOf('.', 3) + 1));
    if (bytes.length < IV_BYTES + TAG_BYTES) throw invalidRecord('gcm value is truncated');
    return macPrefix(
      keys.mac,
      keys.id,
      bytes.subarray(0, IV_BYTES),
      bytes.subarray(bytes.length - TAG_BYTES),
      encodeRecordText(key, 'record key'),
    );
  };
  let lastKeys: SecretKeys | undefined;

  const failedOpen = (cause: unknown): RegistryError =>
    invalidRecord('gcm value failed authentication (tampered, or copied from another key)', cause);

  const decodeRecord = async (value: string, key: string): Promise<DecodedRecord> => {
    const opened = open(value, key, ready ?? (await getKeyring()));
    let plaintextBytes: Uint8Array;
    try {
      plaintextBytes = await backend.decryptGcm(opened.keys.gcm, opened.iv, opened.sealed, opened.aad);
    } catch (cause) {
      throw failedOpen(cause);
    }
    return finish(opened, decodeUtf8OrUndefined(plaintextBytes), value);
  };

  const decryptSync = backend.decryptGcmSync;
  const { decryptGcmTextSync } = backend;
  const decryptText =
    decryptGcmTextSync ??
    (decryptSync &&
      ((key: GcmKey, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array) =>
        decodeUtf8OrUndefined(decryptSync(key, iv, sealed, aad))));
  const codec: RecordCodec = {
    name: 'gcm',

    async encode(plaintext: string, key: string): Promise<string> {
      const { current } = await getKeyring();
      return `${G1_PREFIX}.${current.id}.${encodeBase64(await seal(plaintext, key, current))}`;
    },

    async encodeRecord(content: string, expiresAt: number, key: string): Promise<string> {
      const expiry = expiryText(expiresAt);
      const { current } = ready ?? (await getKeyring());
      let body = written.get(key);
      // The same plaintext under the same key and record key: the same IV gives the same bytes, and
      // nothing else. Any other change gets a fresh random IV: an IV never meets two plaintexts.
      if (body === undefined || body.content !== content || body.keyId !== current.id) {
        const bytes = await seal(content, key, current);
        const prefix = macPrefix(
          current.mac,
          current.id,
          bytes.subarray(0, IV_BYTES),
          bytes.subarray(bytes.length - TAG_BYTES),
          encodeRecordText(key, 'record key'),
        );
        body = {
          content,
          keyId: current.id,
          body: `${G2_PREFIX}.${current.id}.${encodeBase64(bytes)}`,
          prefix,
        };
        written.delete(key);
        if (written.size >= WRITER_CACHE_LIMIT) written.delete(written.keys().next().value as string);
        written.set(key, body);
      }
      return `${body.body}.${macText(body.prefix, expiry)}.${expiry}`;
    },

    async decode(value: string, key: string): Promise<string> {
      const decoded = await decodeRecord(value, key);
      if (decoded.expiresAt === undefined) return decoded.plaintext;
      // The expiry beside the ciphertext goes back into the JSON, so `decode` means what it always did.
      let json: unknown;
      try {
        json = JSON.parse(decoded.plaintext);
      } catch {
        return decoded.plaintext;
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return decoded.plaintext;
      return JSON.stringify({ ...json, expires_at: decoded.expiresAt });
    },

    decodeRecord,

    bodyOf(value: string, key: string | (() => string)): RecordBody | undefined {
      const ring = ready;
      const bodyEnd = ring === undefined ? -1 : g2BodyEnd(value);
      if (ring === undefined || bodyEnd < 0) return undefined;
      // A fleet's values nearly all carry one key id: the last one found is tried before a lookup,
      // which would slice the id out of every value and hash it.
      let keys = lastKeys;
      const keyEnd = 3 + (keys?.id.length ?? 0);
      if (keys === undefined || value.charCodeAt(keyEnd) !== 46 || !value.startsWith(keys.id, 3)) {
        keys = ring.byId.get(value.slice(3, value.indexOf('.', 3)));
        if (keys === undefined) return undefined;
        lastKeys = keys;
      }
      return new G2Body(value.slice(0, bodyEnd), undefined, restorePrefix, keys, key, value);
    },

    async sealSnapshot(plaintext: string, name: string): Promise<string> {
      const { current } = ready ?? (await getKeyring());
      return `${SNAPSHOT_PREFIX}.${current.id}.${encodeBase64(await seal(plaintext, snapshotAad(name), current))}`;
    },

    async openSnapshot(value: string | Uint8Array, name: string): Promise<Uint8Array> {
      const ring = ready ?? (await getKeyring());
      const parts = splitSnapshot(value);
      if (parts === undefined) throw invalidRecord('not a gcm snapshot');
      const keys = ring.byId.get(parts.keyId);
      if (keys === undefined)
        throw invalidRecord("snapshot written with an unknown key (another cluster's secret?)");
      // A synchronous backend decrypts from a reused buffer: a snapshot is megabytes, and each copy of
      // it costs a cold find milliseconds. The plaintext stays bytes (see read/snapshot.ts).
      let bytes: Uint8Array;
      try {
        bytes = decryptSync ? decodeTransient(parts.payload, true) : decodeAny(parts.payload);
      } catch (cause) {
        throw invalidRecord('gcm snapshot is not valid base64', cause);
      }
      if (bytes.length < IV_BYTES + TAG_BYTES) throw invalidRecord('gcm snapshot is truncated');
      try {
        const aad = encodeRecordText(snapshotAad(name), 'snapshot name');
        const iv = bytes.subarray(0, IV_BYTES);
        const sealed = bytes.subarray(IV_BYTES);
        return decryptSync
          ? decryptSync(keys.gcm, iv, sealed, aad)
          : await backend.decryptGcm(keys.gcm, iv, sealed, aad);
      } catch (cause) {
        throw invalidRecord(
          'gcm snapshot failed authentication (tampered, or moved from another service)',
          cause,
        );
      }
    },

    decodeRecordSync(value: string, key: string): DecodedRecord | undefined {
      if (ready === undefined || decryptText === undefined) return undefined;
      // Decrypted right after it was opened, with nothing in between: transient bytes are still whole.
      const opened = open(value, key, ready, true);
      let plaintext: string | undefined;
      try {
        plaintext = decryptText(opened.keys.gcm, opened.iv, opened.sealed, opened.aad);
      } catch (cause) {
        throw failedOpen(cause);
      }
      return finish(opened, plaintext, value);
    },
  };
  if (format === 'g1') {
    const { encodeRecord: _writesG2, ...g1Writer } = codec;
    return g1Writer;
  }
  return codec;
}
