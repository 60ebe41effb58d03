import { RegistryError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { GuardedStore } from '../guarded-store.js';
import { messageOf } from '../notice.js';
import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import type { StoredRecord } from '../store.js';
import type { StoreTime } from '../store-time.js';
import { assertName, assertSeconds, describe, MAX_INTERVAL_SECONDS, readArgument } from '../validate.js';
import { buildUrlMap, compareInstances, type FindResult, type UrlConflict } from './directory.js';
import { keyOf, RecordReader, type Rejection } from './record-reader.js';
import {
  parseSnapshot,
  SNAPSHOT_MIN_RECORDS,
  SNAPSHOT_STALE_SHARE,
  SNAPSHOT_TTLS,
  type Snapshot,
  type SnapshotEntry,
  serializeSnapshot,
  snapshotName,
} from './snapshot.js';
import { type WatchOptions, watchRegistry } from './watch.js';

/** Most asynchronous decodes one `find` keeps in flight. */
const DECODES_IN_FLIGHT = 64;

/** Events of the read side: what `find` met while reading the fleet. */
export interface ReadEvents {
  'rejected-record': { key: string; reason: string };
  conflict: UrlConflict;
  /** A cold find wrote a new snapshot of `service` (see `RegistryOptions.snapshots`). */
  snapshot: { service: string; records: number; bytes: number };
}

/**
 * The read side: the fleet as others see it. `find` is one store read; `watch` calls back with a fresh
 * `find` on change notices and polls. Needs no `publicUrl` and writes nothing.
 */
export class FleetReader {
  readonly #options: ResolvedOptions;
  readonly #store: GuardedStore;
  readonly #events: EventSink<ReadEvents>;
  readonly #reader: RecordReader;
  readonly #watchers = new Set<() => Promise<void>>();
  readonly #time: StoreTime | undefined;
  /** Whether this reader reads and writes snapshots: asked to, and store and codec can. */
  readonly #snapshots: boolean;
  /** Snapshot writes not done yet, by service: each starts its write now and resolves when it is done. */
  readonly #snapshotWrites = new Map<string, () => Promise<void>>();

  /** `time`: the store's clock, so expiry is checked on the clock writers used (default the local one). */
  constructor(
    options: ResolvedOptions,
    store: GuardedStore,
    events: EventSink<ReadEvents>,
    time?: StoreTime,
  ) {
    this.#options = options;
    this.#time = time;
    this.#store = store;
    this.#events = events;
    this.#reader = new RecordReader(options.codec, options.maxRecordBytes);
    const { codec } = options;
    this.#snapshots =
      options.snapshots &&
      store.getSnapshot !== undefined &&
      codec.openSnapshot !== undefined &&
      codec.sealSnapshot !== undefined &&
      codec.bodyOf !== undefined;
  }

  /**
   * How far the store's clock runs ahead of this process's, ms (0 without store time): records'
   * `expiresAt` are in store time, local timers subtract this.
   */
  get storeOffsetMs(): number {
    return this.#time ? this.#time.now() - this.#options.clock.now() : 0;
  }

  /** Records skipped by `find()` since this reader was created. */
  get rejectedTotal(): number {
    return this.#reader.rejectedTotal;
  }

  /** Live instances of one service (or all), the url map and any conflicts. Throws only for store failures. */
  async find(serviceName?: string): Promise<FindResult> {
    if (serviceName !== undefined) assertName(serviceName, 'service name');
    const { namespace, clock, baseUrl, conflictExempt, logger } = this.#options;
    const reader = this.#reader;
    const cold = serviceName !== undefined && this.#snapshots && !reader.holds(serviceName);
    const [records] = await Promise.all([this.#store.list(namespace, serviceName), this.#time?.refresh()]);
    // A reader that holds nothing of a large service fetches its snapshot once the listing says it is
    // large: a small service's cold find stays one request (serverless and edge functions pay per request).
    const large = cold && records.length >= SNAPSHOT_MIN_RECORDS;
    const snapshot = large ? await this.#readSnapshot(serviceName) : undefined;
    const now = this.#time ? this.#time.now() : clock.now();
    // The reader's clock for `expiryCheck: 'halfway'`; without it every changed value is checked.
    const checkFrom = this.#options.expiryCheck === 'halfway' ? now : undefined;
    const instances: Instance[] = [];
    let rejected = 0;
    // Unchanged records are answered from the reader's cache, and with a codec that decodes
    // synchronously the rest too, in one batch with no promise per record; only what is left is awaited.
    // The listing is complete for its scope: cached records of that scope it lacks have left.
    const pass = reader.beginPass();
    // No record key is built for a cached record: the reader looks it up by service and instance id.
    // The snapshot answers in this synchronous pass or not at all, so finds running at once never
    // see each other's.
    if (snapshot !== undefined) reader.useSnapshot(serviceName as string, snapshot);
    let outcomes: (Instance | Rejection | undefined)[];
    let snapshotHits = 0;
    try {
      outcomes = records.map((record) => reader.readSync(record, checkFrom));
    } finally {
      if (snapshot !== undefined) snapshotHits = reader.dropSnapshot();
    }
    await this.#readMisses(records, outcomes, checkFrom);
    for (let index = 0; index < outcomes.length; index++) {
      const outcome = outcomes[index] as Instance | Rejection;
      let reason: string | undefined;
      if ('reason' in outcome) reason = outcome.reason;
      else if (outcome.expiresAt !== null && outcome.expiresAt <= now) reason = 'expired';
      else instances.push(outcome);
      if (reason !== undefined) {
        rejected++;
        const record = records[index] as StoredRecord;
        const key = keyOf(record);
        const firstSeen = 'firstSeen' in outcome && outcome.firstSeen;
        logger[firstSeen ? 'warn' : 'debug']('skipped a record', { key, reason });
        this.#events.emit('rejected-record', { key, reason });
      }
    }
    reader.endPass(pass, serviceName);
    reader.rejectedTotal += rejected;
    // A cold find of a large service the snapshot did not serve leaves one for the next cold reader.
    if (large && snapshotHits < SNAPSHOT_STALE_SHARE * records.length) {
      this.#scheduleSnapshot(serviceName as string, now);
    }
    instances.sort(compareInstances);
    const { urlMap, conflicts } = buildUrlMap(instances, baseUrl, conflictExempt);
    for (const conflict of conflicts) {
      logger.warn('one resource is served from several URLs', {
        resource: conflict.resource,
        urls: conflict.urls,
      });
      this.#events.emit('conflict', conflict);
    }
    return { instances, urlMap, conflicts, rejected };
  }

  /** Decodes, in place, the records `readSync` left undefined in `outcomes`. */
  async #readMisses(
    records: readonly StoredRecord[],
    outcomes: (Instance | Rejection | undefined)[],
    checkFrom: number | undefined,
  ): Promise<void> {
    const reader = this.#reader;
    const misses: number[] = [];
    for (let index = 0; index < outcomes.length; index++)
      if (outcomes[index] === undefined) misses.push(index);
    if (misses.length > 0) {
      // The first decode derives the codec's keys (a fresh process); after it a codec that decodes
      // synchronously takes the rest in one batch.
      const [first, ...rest] = misses as [number, ...number[]];
      outcomes[first] = await reader.read(records[first] as StoredRecord, checkFrom);
      const left = rest.filter((index) => {
        outcomes[index] = reader.readSync(records[index] as StoredRecord, checkFrom);
        return outcomes[index] === undefined;
      });
      // An asynchronous codec (Web Crypto) gets a bounded number of decodes in flight: a job queue
      // of thousands costs more per record than a few dozen kept busy.
      let next = 0;
      const decodeNext = async (): Promise<void> => {
        while (next < left.length) {
          const index = left[next++] as number;
          outcomes[index] = await reader.read(records[index] as StoredRecord, checkFrom);
        }
      };
      await Promise.all(Array.from({ length: Math.min(DECODES_IN_FLIGHT, left.length) }, decodeNext));
    }
  }

  /**
   * The service's snapshot, opened; undefined when there is none or it cannot be used. Never throws:
   * the find then decodes every record, as without snapshots.
   */
  async #readSnapshot(service: string): Promise<Snapshot | undefined> {
    const { namespace, codec, logger } = this.#options;
    let reason: string;
    try {
      const sealed = await this.#store.getSnapshot?.(namespace, service);
      if (sealed === null || sealed === undefined) return undefined;
      const plaintext = await codec.openSnapshot?.(sealed, snapshotName(namespace, service));
      const snapshot = plaintext === undefined ? undefined : parseSnapshot(plaintext);
      if (snapshot !== undefined) return snapshot;
      reason = 'not a snapshot this release reads';
    } catch (error) {
      reason = messageOf(error);
    }
    // A store fault is the listing's to report; a snapshot that fails to open was written with
    // another secret, damaged, or moved from another service, and is replaced by this find.
    logger.debug('did not use the service snapshot', { service, reason });
    return undefined;
  }

  /**
   * Writes the service's snapshot from what the cache holds now, after the find that asked for it
   * returned (a timer: the serialization and encryption of a large service take milliseconds that
   * are not the caller's). At most one write per service at a time; `close()` finishes those pending.
   */
  #scheduleSnapshot(service: string, at: number): void {
    if (this.#snapshotWrites.has(service)) return;
    const { clock } = this.#options;
    let written: Promise<void> | undefined;
    const write = () => {
      written ??= this.#writeSnapshot(service, at).finally(() => this.#snapshotWrites.delete(service));
      return written;
    };
    const timer = clock.setTimeout(() => void write(), 0);
    this.#snapshotWrites.set(service, () => {
      clock.clearTimeout(timer);
      return write();
    });
  }

  /** Never throws: a snapshot that could not be written costs the next cold reader time, nothing else. */
  async #writeSnapshot(service: string, at: number): Promise<void> {
    const { namespace, codec, logger, ttlMs } = this.#options;
    const entries: [string, SnapshotEntry][] = [...this.#reader.snapshotEntries(service)];
    if (entries.length < SNAPSHOT_MIN_RECORDS) return;
    try {
      const sealed = await codec.sealSnapshot?.(
        serializeSnapshot(at, entries),
        snapshotName(namespace, service),
      );
      if (sealed === undefined) return;
      await this.#store.putSnapshot?.(namespace, service, sealed, ttlMs * SNAPSHOT_TTLS);
      logger.debug('wrote the service snapshot', { service, records: entries.length, bytes: sealed.length });
      this.#events.emit('snapshot', { service, records: entries.length, bytes: sealed.length });
    } catch (error) {
      logger.warn('could not write the service snapshot', {
        service,
        reason: messageOf(error),
      });
    }
  }

  /**
   * Calls `onChange` with a fresh `find()` result now and whenever the live set changes: at once on
   * stores that push change notices, and by polling (for expirations, and on stores that cannot push).
   */
  async watch(
    onChange: (result: FindResult) => void,
    options: WatchOptions = {},
  ): Promise<() => Promise<void>> {
    assertFunction(onChange, 'onChange');
    if (typeof options !== 'object' || options === null) {
      throw new RegistryError(
        'invalid-argument',
        `watch options must be an object, got ${describe(options)}`,
      );
    }
    // Read once, so what is checked is what the watcher uses.
    const { service, pollInterval } = readArgument('the watch options', () => ({
      service: options.service,
      pollInterval: options.pollInterval,
    }));
    if (service !== undefined) assertName(service, 'service name');
    if (pollInterval !== undefined) assertSeconds(pollInterval, 'pollInterval', 0.01, MAX_INTERVAL_SECONDS);
    const stop = await watchRegistry(
      {
        find: (name) => this.find(name),
        store: this.#options.store,
        namespace: this.#options.namespace,
        clock: this.#options.clock,
        logger: this.#options.logger,
        defaultPollMs: this.#options.intervalMs,
      },
      onChange,
      { service, pollInterval },
    );
    const unwatch = async () => {
      this.#watchers.delete(unwatch);
      await stop();
    };
    this.#watchers.add(unwatch);
    return unwatch;
  }

  /** Stops every watcher this reader started, and finishes the snapshot writes it scheduled. */
  async close(): Promise<void> {
    await Promise.allSettled([
      ...[...this.#watchers].map((unwatch) => unwatch()),
      ...[...this.#snapshotWrites.values()].map((write) => write()),
    ]);
  }
}

export function assertFunction(value: unknown, what: string): void {
  if (typeof value !== 'function') {
    throw new RegistryError('invalid-argument', `${what} must be a function, got ${describe(value)}`);
  }
}
