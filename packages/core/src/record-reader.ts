import type { RecordCodec } from './codec/codec.js';
import { RegistryError } from './errors.js';
import { type Instance, parseRecord, recordKey } from './record.js';
import type { StoredRecord } from './store.js';
import { isValidName } from './validate.js';

export interface Rejection {
  readonly reason: string;
  /** True the first time this exact value was rejected, so logs warn once, not on every `find`. */
  readonly firstSeen: boolean;
}

/** Most decoded values remembered between `find` calls. */
const CACHE_LIMIT = 50_000;
/**
 * Most characters of cache keys (record key and ciphertext) remembered: values up to `maxRecordBytes`
 * each, rewritten with a fresh IV at every refresh, would otherwise pin up to 50,000 x 64 KiB of heap.
 */
const CACHE_CHAR_LIMIT = 32 * 1024 * 1024;

/**
 * Decrypts and validates stored values. A value that has not changed since it was last read is not
 * decrypted again: the cache is keyed by the record's key and its exact ciphertext, and an authenticated
 * ciphertext always decrypts to the same plaintext. Expiry is checked by the caller on every read.
 */
export class RecordReader {
  readonly #codec: RecordCodec;
  readonly #maxRecordBytes: number;
  readonly #cache = new Map<string, Instance | string>();
  #cachedChars = 0;
  rejectedTotal = 0;

  constructor(codec: RecordCodec, maxRecordBytes: number) {
    this.#codec = codec;
    this.#maxRecordBytes = maxRecordBytes;
  }

  async read(record: StoredRecord): Promise<Instance | Rejection> {
    if (record.value.length > this.#maxRecordBytes) {
      return { reason: `larger than ${this.#maxRecordBytes} bytes`, firstSeen: false };
    }
    const key = record.key ?? recordKey(record);
    const cacheKey = `${key}\n${record.value}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined)
      return typeof cached === 'string' ? { reason: cached, firstSeen: false } : cached;
    let outcome: Instance | string;
    try {
      // A key that does not split into valid names (`reg:svc:id:extra`) is no record of any layout.
      if (record.key !== undefined || !isValidName(record.service) || !isValidName(record.instanceId)) {
        throw new RegistryError('invalid-record', 'the key is not <namespace>:<service>:<instanceId>');
      }
      outcome = parseRecord(await this.#codec.decode(record.value, key), record);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      outcome = error.message;
    }
    // Two concurrent finds may both miss; count each entry's characters once.
    if (!this.#cache.has(cacheKey)) {
      // Map iteration is insertion order: drop the oldest tenth when full, and the oldest entries
      // while the new one would pass the character budget.
      let drop = this.#cache.size >= CACHE_LIMIT ? CACHE_LIMIT / 10 : 0;
      for (const oldKey of this.#cache.keys()) {
        if (drop <= 0 && this.#cachedChars + cacheKey.length <= CACHE_CHAR_LIMIT) break;
        this.#cache.delete(oldKey);
        this.#cachedChars -= oldKey.length;
        drop--;
      }
      this.#cachedChars += cacheKey.length;
    }
    this.#cache.set(cacheKey, outcome);
    return typeof outcome === 'string' ? { reason: outcome, firstSeen: true } : outcome;
  }
}
