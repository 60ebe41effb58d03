import type { DecodedRecord, RecordBody, RecordCodec } from '../codec/codec.js';
import { RegistryError } from '../errors.js';
import { type Instance, parseRecord, recordKey } from '../record.js';
import type { StoredRecord } from '../store.js';
import { isValidName } from '../validate.js';
import type { Snapshot, SnapshotEntry } from './snapshot.js';

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
  /** Its place among the service's entries (`slotOf`). */
  readonly slot: string;
  /** The last value seen, and what it decoded to (changed in place when only the expiry moved). */
  value: string;
  /** `value`'s expiry field was not authenticated: `outcome` carries an earlier value's expiry. */
  unchecked: boolean;
  outcome: Instance | string;
  /** The codec's handle on the ciphertext, when it can recognise a later value with the same one. */
  readonly body?: RecordBody | undefined;
  readonly service: string;
  /** The latest pass (`beginPass`) that met this record. */
  seen: number;
  /**
   * Store time from which a value holding the cached body but another expiry gets its expiry's MAC
   * checked; before it, the cached (authenticated) outcome answers. -Infinity: always checked.
   */
  recheckAt: number;
}

/** The key the codec binds a stored value to: the exact key when it does not split into names. */
export function keyOf(record: StoredRecord): string {
  return record.key ?? recordKey(record);
}

/**
 * Where a record's entry sits among its service's: the instance id, or (for a key that does not
 * split into names) the key behind a NUL, which no instance id holds. Looking a record up by it builds
 * no key string: a warm find of 10,000 records spared 10,000 concatenations and their hashing.
 */
function slotOf(record: StoredRecord): string {
  return record.key === undefined ? record.instanceId : `\u0000${record.key}`;
}

/**
 * When a read at `now` authenticated `expiresAt`: halfway there. Until then a refreshed value of the
 * same body is answered with `expiresAt` unchecked, so a record's reported expiry runs at most half its
 * remaining life behind the store's, and every read past the midpoint checks the value it meets.
 */
function recheckAt(now: number | undefined, expiresAt: number | null): number {
  if (now === undefined || expiresAt === null) return Number.NEGATIVE_INFINITY;
  return now + (expiresAt - now) / 2;
}

/**
 * Decrypts and validates stored values. A value that has not changed since it was last read is not
 * decrypted again: the cache holds, per record key, the last value seen and what it decoded to, and an
 * authenticated ciphertext always decrypts to the same plaintext. A value that carries its expiry
 * beside the ciphertext (gcm `g2`) keeps its ciphertext across routine refreshes: when only the expiry
 * changed, the codec checks the new expiry's MAC synchronously and the cached instance comes back with
 * it. Given the read's `now` (store time), the reader does that check only once the authenticated expiry
 * it holds is half spent (`recheckAt`): before, a value with the same body and a well-formed expiry field
 * claiming no earlier expiry is answered from the cache with the expiry last authenticated, which its
 * writer wrote and which is still half a lifetime off. A find right after a routine refresh of the whole
 * fleet then costs what a warm one does, and a record still never lives past an expiry its writer wrote:
 * an older value put back claims an earlier expiry, so it is checked at once and dies at its own; a
 * forged or grafted later expiry is never reported, and the first read past the midpoint rejects it.
 * Without `now`, every changed value is checked.
 * Keying by service and instance id and comparing the value keeps a lookup cheap (no hashing of the
 * value, no key built) and holds one entry per record; a reader serves one namespace. Expiry is
 * checked by the caller on every read.
 */
export class RecordReader {
  readonly #codec: RecordCodec;
  readonly #maxRecordBytes: number;
  /** Every entry, oldest first (the eviction order). */
  readonly #cache = new Set<CacheEntry>();
  /**
   * The same entries by service, then slot (`slotOf`): for lookups, and so a pass over one service
   * can drop those it did not meet.
   */
  readonly #byService = new Map<string, Map<string, CacheEntry>>();
  #cachedChars = 0;
  #pass = 0;
  /** The snapshot consulted for records of `service` the cache does not hold (`useSnapshot`). */
  #snapshot: { readonly service: string; readonly snapshot: Snapshot } | undefined;
  /** Records the snapshot answered without a MAC check since `useSnapshot`. */
  #snapshotHits = 0;
  rejectedTotal = 0;

  constructor(codec: RecordCodec, maxRecordBytes: number) {
    this.#codec = codec;
    this.#maxRecordBytes = maxRecordBytes;
  }

  /** Entries held (one per record key). */
  get size(): number {
    return this.#cache.size;
  }

  /**
   * Starts a pass over a complete listing (one `find`): what it reads is marked, and `endPass` then
   * drops the entries of the listed scope that no pass since this one met: records that left the
   * store. Without it a fleet that keeps replacing its instances fills the cache with the gone ones
   * until the size budget evicts them.
   */
  beginPass(): number {
    return ++this.#pass;
  }

  /** Whether any record of `service` is cached. */
  holds(service: string): boolean {
    return this.#byService.has(service);
  }

  /**
   * Until `dropSnapshot`, a record of `service` is looked up in `snapshot` before it is decoded (see
   * `#fromSnapshot`); ignored when the cache holds any record of `service`.
   */
  useSnapshot(service: string, snapshot: Snapshot): void {
    // Only for a service the cache holds nothing of: `readKnown` then skips the cache for it.
    this.#snapshotHits = 0;
    if (this.holds(service)) return;
    this.#snapshot = { service, snapshot };
  }

  /** Stops consulting the snapshot; returns how many records it answered without a MAC check. */
  dropSnapshot(): number {
    this.#snapshot = undefined;
    return this.#snapshotHits;
  }

  /**
   * What a snapshot of `service` holds: every cached record that decoded to an instance with an
   * expiry and whose codec can mark its ciphertext.
   */
  *snapshotEntries(service: string): Generator<[string, SnapshotEntry]> {
    for (const entry of this.#byService.get(service)?.values() ?? []) {
      const { outcome, body } = entry;
      const mark = body?.mark;
      if (typeof outcome === 'string' || outcome.expiresAt === null || mark === undefined) continue;
      const mac = entry.unchecked ? undefined : body?.macOf?.(entry.value);
      // A key that does not split into names never decodes, so every entry here sits under its id.
      yield [
        entry.slot,
        {
          mark,
          mac: mac ?? null,
          expiresAt: outcome.expiresAt,
          info: outcome.info,
          status: outcome.status,
          meta: outcome.meta,
        },
      ];
    }
  }

  /** Ends pass `pass` over the records of `service`, or of every service when undefined. */
  endPass(pass: number, service: string | undefined): void {
    const sweep = (entries: Map<string, CacheEntry>) => {
      for (const entry of entries.values()) if (entry.seen < pass) this.#forget(entry);
    };
    if (service !== undefined) {
      const entries = this.#byService.get(service);
      if (entries !== undefined) sweep(entries);
      return;
    }
    for (const entries of this.#byService.values()) sweep(entries);
  }

  /**
   * The outcome without decrypting, when the value is oversized, unchanged since the last read, or
   * changed only in its expiry (authenticated, or before `now` reaches the midpoint not yet: see the
   * class comment). `now` is the read's store time; without it every changed expiry is checked.
   */
  readKnown(record: StoredRecord, now?: number): Instance | Rejection | undefined {
    if (record.value.length > this.#maxRecordBytes) {
      return { reason: `larger than ${this.#maxRecordBytes} bytes`, firstSeen: false };
    }
    // The snapshot's service had nothing cached when the pass began, and a listing names each record
    // once: no lookup for a cached entry (a cold find of 10,000 spares 10,000 misses).
    const snapshot = this.#snapshot;
    if (snapshot !== undefined && record.service === snapshot.service) return this.#fromSnapshot(record, now);
    const cached = this.#byService.get(record.service)?.get(slotOf(record));
    if (cached === undefined) return undefined;
    const { outcome, body } = cached;
    const value = record.value;
    const last = value.length - 1;
    const early = now !== undefined && now < cached.recheckAt;
    // A refreshed value differs from the cached one only in its last characters (MAC and expiry):
    // looking there first spares a comparison of the whole unchanged body before `sameBody` reads it.
    if (value.charCodeAt(last) === cached.value.charCodeAt(last) && cached.value === value) {
      // A value taken unchecked is checked like a new one once the expiry held is half spent.
      if (!cached.unchecked || early) {
        cached.seen = this.#pass;
        return typeof outcome === 'string' ? { reason: outcome, firstSeen: false } : outcome;
      }
    }
    if (typeof outcome === 'string' || body === undefined) return undefined;
    // Still far from the authenticated expiry held: the same body with some other expiry field is
    // answered from the cache without its MAC (see the class comment).
    if (early && this.#laterClaim(body, value, outcome.expiresAt)) {
      this.#cachedChars += value.length - cached.value.length;
      cached.value = value;
      cached.unchecked = true;
      cached.seen = this.#pass;
      return outcome;
    }
    const expiresAt = this.#checkedExpiry(body, value);
    if (expiresAt === undefined) return undefined;
    const instance: Instance = {
      name: outcome.name,
      id: outcome.id,
      info: outcome.info,
      status: outcome.status,
      meta: outcome.meta,
      expiresAt,
    };
    // In place: the same record, so no eviction, and it keeps its place in the cache's order.
    this.#cachedChars += value.length - cached.value.length;
    cached.value = value;
    cached.unchecked = false;
    cached.outcome = instance;
    cached.seen = this.#pass;
    cached.recheckAt = recheckAt(now, expiresAt);
    return instance;
  }

  /**
   * The instance a snapshot vouches for, without decrypting: when the snapshot has an entry for the
   * record's instance id whose mark is that of the listed value's ciphertext (the same key id, IV, tag
   * and length under the same key: the same plaintext, which the snapshot's writer decoded). Its expiry:
   * the snapshot's, when the value's MAC and expiry are the very characters the writer authenticated;
   * else, as for a cached record (`readKnown`), the snapshot's unchecked while a refreshed value claims
   * no earlier one and the snapshot's expiry is not half spent since it was written; else the value's
   * own, its MAC checked. Undefined (decode it) for anything else.
   */
  #fromSnapshot(record: StoredRecord, now: number | undefined): Instance | undefined {
    const current = this.#snapshot;
    if (current === undefined || record.service !== current.service || record.key !== undefined)
      return undefined;
    if (record.fault !== undefined) return undefined;
    const { snapshot } = current;
    const row = snapshot.rowOf(record.instanceId);
    const bodyOf = this.#codec.bodyOf;
    if (row < 0 || bodyOf === undefined) return undefined;
    const { value } = record;
    // Its key only if the body checks an expiry's MAC: most records a snapshot vouches for never do.
    const body = bodyOf.call(this.#codec, value, () => recordKey(record));
    const text = snapshot.textOf(row);
    const macStart = snapshot.macStart(row);
    if (body === undefined || body.hasMark?.(text, snapshot.markStart(row), macStart) !== true)
      return undefined;
    let expiresAt = snapshot.expiresAt(row);
    let unchecked = false;
    let recheck = recheckAt(now, expiresAt);
    // Served without any cryptography: what counts towards the snapshot's freshness.
    let fresh = true;
    const halfway = recheckAt(snapshot.at, expiresAt);
    if (body.hasTail?.(value, text, macStart, snapshot.macEnd(row), expiresAt) === true) {
      // The very MAC and expiry the snapshot's writer checked: as if decoded now.
    } else if (now !== undefined && now < halfway && this.#laterClaim(body, value, expiresAt)) {
      unchecked = true;
      recheck = halfway;
    } else {
      const checked = this.#checkedExpiry(body, value);
      if (checked === undefined) return undefined;
      expiresAt = checked;
      recheck = recheckAt(now, expiresAt);
      fresh = false;
    }
    const instance: Instance = {
      name: record.service,
      id: record.instanceId,
      info: snapshot.info(row),
      status: snapshot.status(row),
      meta: snapshot.meta(row),
      expiresAt,
    };
    this.#remember({
      slot: record.instanceId,
      value,
      unchecked,
      outcome: instance,
      body,
      service: record.service,
      seen: this.#pass,
      recheckAt: recheck,
    });
    if (fresh) this.#snapshotHits++;
    return instance;
  }

  /**
   * `value`'s expiry when it holds `body` and its expiry's MAC checks out; undefined otherwise (a
   * forged or damaged expiry field too: the full decode rejects it, and says why once).
   */
  #checkedExpiry(body: RecordBody, value: string): number | undefined {
    try {
      return body.sameBody(value);
    } catch (error) {
      if (error instanceof RegistryError) return undefined;
      throw error;
    }
  }

  /**
   * Whether `value` holds `body` and claims (unauthenticated) an expiry no earlier than the one held: a
   * routine refresh. An earlier claim (an older value put back) is checked at once, so it dies at its
   * own expiry.
   */
  #laterClaim(body: RecordBody, value: string, held: number | null): boolean {
    if (held === null || body.claimedExpiry === undefined) return false;
    const claimed = body.claimedExpiry(value);
    return claimed !== undefined && claimed >= held;
  }

  /** `readKnown`, else a synchronous decode when the codec can (`decodeRecordSync`); else undefined. */
  readSync(record: StoredRecord, now?: number): Instance | Rejection | undefined {
    const known = this.readKnown(record, now);
    const decodeSync = this.#codec.decodeRecordSync;
    if (known !== undefined || decodeSync === undefined) return known;
    const key = keyOf(record);
    let decoded: DecodedRecord | undefined;
    try {
      this.#checkKey(record);
      decoded = decodeSync.call(this.#codec, record.value, key);
      if (decoded === undefined) return undefined;
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      return this.#settle(record, error.message, undefined, now);
    }
    return this.#settle(record, this.#parse(decoded, record), decoded, now);
  }

  async read(record: StoredRecord, now?: number): Promise<Instance | Rejection> {
    const known = this.readKnown(record, now);
    if (known !== undefined) return known;
    const key = keyOf(record);
    let outcome: Instance | string;
    let decoded: DecodedRecord | undefined;
    try {
      this.#checkKey(record);
      const codec = this.#codec;
      decoded = codec.decodeRecord
        ? await codec.decodeRecord(record.value, key)
        : { plaintext: await codec.decode(record.value, key) };
      outcome = this.#parse(decoded, record);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      outcome = error.message;
    }
    return this.#settle(record, outcome, decoded, now);
  }

  #checkKey(record: StoredRecord): void {
    if (record.fault !== undefined) throw new RegistryError('invalid-record', record.fault);
    // A key that does not split into valid names (`reg:svc:id:extra`) is no record of any layout.
    if (record.key !== undefined || !isValidName(record.service) || !isValidName(record.instanceId)) {
      throw new RegistryError('invalid-record', 'the key is not <namespace>:<service>:<instanceId>');
    }
  }

  #parse(decoded: DecodedRecord, record: StoredRecord): Instance | string {
    try {
      return parseRecord(decoded.plaintext, record, decoded.expiresAt);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      return error.message;
    }
  }

  #settle(
    record: StoredRecord,
    outcome: Instance | string,
    decoded: DecodedRecord | undefined,
    now: number | undefined,
  ): Instance | Rejection {
    const instance = typeof outcome === 'string' ? undefined : outcome;
    this.#remember({
      slot: slotOf(record),
      value: record.value,
      unchecked: false,
      outcome,
      body: instance && decoded?.body,
      service: record.service,
      seen: this.#pass,
      recheckAt: recheckAt(now, instance ? instance.expiresAt : null),
    });
    return typeof outcome === 'string' ? { reason: outcome, firstSeen: true } : outcome;
  }

  #remember(entry: CacheEntry): void {
    const previous = this.#byService.get(entry.service)?.get(entry.slot);
    if (previous !== undefined) this.#forget(previous);
    // Set iteration is insertion order: drop the oldest tenth when full, and the oldest entries
    // while the new one would pass the character budget.
    let drop = this.#cache.size >= CACHE_LIMIT ? CACHE_LIMIT / 10 : 0;
    // Checked before iterating: a cold find remembers thousands of records, almost never over budget.
    if (drop > 0 || this.#cachedChars + entry.value.length > CACHE_CHAR_LIMIT) {
      for (const old of this.#cache) {
        if (drop <= 0 && this.#cachedChars + entry.value.length <= CACHE_CHAR_LIMIT) break;
        this.#forget(old);
        drop--;
      }
    }
    this.#cache.add(entry);
    this.#cachedChars += entry.value.length;
    let entries = this.#byService.get(entry.service);
    if (entries === undefined) {
      entries = new Map();
      this.#byService.set(entry.service, entries);
    }
    entries.set(entry.slot, entry);
  }

  #forget(entry: CacheEntry): void {
    this.#cache.delete(entry);
    this.#cachedChars -= entry.value.length;
    const entries = this.#byService.get(entry.service);
    if (entries === undefined) return;
    entries.delete(entry.slot);
    if (entries.size === 0) this.#byService.delete(entry.service);
  }
}
