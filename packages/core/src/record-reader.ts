import type { RecordCodec } from './codec/codec.js';
import { RegistryError } from './errors.js';
import { type Instance, parseRecord, recordKey } from './record.js';
import type { StoredRecord } from './store.js';

export interface Rejection {
  readonly reason: string;
  /** True the first time this exact value was rejected, so logs warn once, not on every `find`. */
  readonly firstSeen: boolean;
}

/** Most decoded values remembered between `find` calls. */
const CACHE_LIMIT = 50_000;

/**
 * Decrypts and validates stored values. A value that has not changed since it was last read is not
 * decrypted again: the cache is keyed by the record's key and its exact ciphertext, and an authenticated
 * ciphertext always decrypts to the same plaintext. Expiry is checked by the caller on every read.
 */
export class RecordReader {
  readonly #codec: RecordCodec;
  readonly #maxRecordBytes: number;
  readonly #cache = new Map<string, Instance | string>();
  rejectedTotal = 0;

  constructor(codec: RecordCodec, maxRecordBytes: number) {
    this.#codec = codec;
    this.#maxRecordBytes = maxRecordBytes;
  }

  async read(record: StoredRecord): Promise<Instance | Rejection> {
    if (record.value.length > this.#maxRecordBytes) {
      return { reason: `larger than ${this.#maxRecordBytes} bytes`, firstSeen: false };
    }
    const key = recordKey(record);
    const cacheKey = `${key}\n${record.value}`;
    const cached = this.#cache.get(cacheKey);
    if (cached !== undefined)
      return typeof cached === 'string' ? { reason: cached, firstSeen: false } : cached;
    let outcome: Instance | string;
    try {
      outcome = parseRecord(await this.#codec.decode(record.value, key), record);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      outcome = error.message;
    }
    if (this.#cache.size >= CACHE_LIMIT) {
      // Map iteration is insertion order: drop the oldest tenth.
      let drop = CACHE_LIMIT / 10;
      for (const oldKey of this.#cache.keys()) {
        this.#cache.delete(oldKey);
        if (--drop === 0) break;
      }
    }
    this.#cache.set(cacheKey, outcome);
    return typeof outcome === 'string' ? { reason: outcome, firstSeen: true } : outcome;
  }
}
