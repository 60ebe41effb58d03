import type { RecordCodec } from '../codec/codec.js';
import { RegistryError } from '../errors.js';
import { type Instance, parseRecord } from '../record.js';
import type { StoredRecord } from '../store.js';
import { isValidName } from '../validate.js';

export interface Rejection {
  readonly reason: string;
  /** True the first time this exact value was rejected, so logs warn once, not on every `find`. */
  readonly firstSeen: boolean;
}

/** Most records remembered between `find` calls (one entry per record key). */
const CACHE_LIMIT = 50_000;
/**
 * Most characters of ciphertext remembered: values up to `maxRecordBytes` each would otherwise pin up
 * to 50,000 x 64 KiB of heap.
 */
const CACHE_CHAR_LIMIT = 32 * 1024 * 1024;

interface CacheEntry {
  readonly value: string;
  readonly outcome: Instance | string;
}

/**
 * Decrypts and validates stored values. A value that has not changed since it was last read is not
 * decrypted again: the cache holds, per record key, the last ciphertext seen and what it decoded to,
 * and an authenticated ciphertext always decrypts to the same plaintext. Keying by the record key and
 * comparing the ciphertext keeps a lookup cheap (no hashing of the value) and holds one entry per
 * record. Expiry is checked by the caller on every read.
 */
export class RecordReader {
  readonly #codec: RecordCodec;
  readonly #maxRecordBytes: number;
  readonly #cache = new Map<string, CacheEntry>();
  #cachedChars = 0;
  rejectedTotal = 0;

  constructor(codec: RecordCodec, maxRecordBytes: number) {
    this.#codec = codec;
    this.#maxRecordBytes = maxRecordBytes;
  }

  /** The outcome without decrypting, when the value is oversized or unchanged since the last read. */
  readKnown(record: StoredRecord, key: string): Instance | Rejection | undefined {
    if (record.value.length > this.#maxRecordBytes) {
      return { reason: `larger than ${this.#maxRecordBytes} bytes`, firstSeen: false };
    }
    const cached = this.#cache.get(key);
    if (cached === undefined || cached.value !== record.value) return undefined;
    return typeof cached.outcome === 'string' ? { reason: cached.outcome, firstSeen: false } : cached.outcome;
  }

  async read(record: StoredRecord, key: string): Promise<Instance | Rejection> {
    const known = this.readKnown(record, key);
    if (known !== undefined) return known;
    let outcome: Instance | string;
    try {
      if (record.fault !== undefined) throw new RegistryError('invalid-record', record.fault);
      // A key that does not split into valid names (`reg:svc:id:extra`) is no record of any layout.
      if (record.key !== undefined || !isValidName(record.service) || !isValidName(record.instanceId)) {
        throw new RegistryError('invalid-record', 'the key is not <namespace>:<service>:<instanceId>');
      }
      outcome = parseRecord(await this.#codec.decode(record.value, key), record);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      outcome = error.message;
    }
    this.#remember(key, { value: record.value, outcome });
    return typeof outcome === 'string' ? { reason: outcome, firstSeen: true } : outcome;
  }

  #remember(key: string, entry: CacheEntry): void {
    const previous = this.#cache.get(key);
    if (previous !== undefined) {
      this.#cache.delete(key);
      this.#cachedChars -= previous.value.length;
    }
    // Map iteration is insertion order: drop the oldest tenth when full, and the oldest entries
    // while the new one would pass the character budget.
    let drop = this.#cache.size >= CACHE_LIMIT ? CACHE_LIMIT / 10 : 0;
    for (const [oldKey, old] of this.#cache) {
      if (drop <= 0 && this.#cachedChars + entry.value.length <= CACHE_CHAR_LIMIT) break;
      this.#cache.delete(oldKey);
      this.#cachedChars -= old.value.length;
      drop--;
    }
    this.#cache.set(key, entry);
    this.#cachedChars += entry.value.length;
  }
}
