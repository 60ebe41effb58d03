/** Where one record lives: `<namespace>:<service>:<instanceId>`. */
export interface RecordRef {
  readonly namespace: string;
  readonly service: string;
  readonly instanceId: string;
}

/** A record as a store returns it: its identity and the opaque (encrypted) value. */
export interface StoredRecord extends RecordRef {
  readonly value: string;
  /**
   * The exact key, set only when it does not split into a valid service and instance id (e.g.
   * `reg:svc:id:extra`, written by hand or by another program into the apicrud layout, which stores
   * list by scanning). Core skips and counts such a record, and reports it under this key.
   */
  readonly key?: string;
  /**
   * Set when the store found this entry but cannot read it (e.g. a Redis service index overwritten
   * with a key of another type): core skips and counts it as a rejected record with this reason,
   * reported under `key`, and lists the rest.
   */
  readonly fault?: string;
}

/**
 * How a store lays records out. `native`: this project's layout (on Redis: hash tags, an index,
 * no SCAN). `apicrud`: Python apicrud's, `<namespace>:<service>:<instanceId>` written with
 * `SET ... EX <seconds>` and found by SCAN, so both can share one registry.
 */
export type KeyLayout = 'native' | 'apicrud';

/** Hints that come with a write. */
export interface PutOptions {
  /**
   * False when the record's content (everything but its expiry) is what this instance wrote last time:
   * a routine refresh. Stores that push change notices may then skip the notice. Default true.
   */
  readonly changed?: boolean;
  /**
   * Given only to stores that declare `capabilities.comparePrevious`: a prefix of the value this
   * writer wrote last at this key, which no other writer's value starts with (for the gcm codec its
   * header and random IV, 28 characters: per write in `g1`, per writer and content in `g2`, whose
   * routine refreshes keep the IV; otherwise the whole value). In the same atomic step as the write the store compares
   * what the key held just before, and `put` resolves to a `PutResult`. Default none: no comparison.
   */
  readonly expectPrevious?: string;
}

/** What `put` resolves to when it was given `expectPrevious` (stores declaring `comparePrevious`). */
export interface PutResult {
  /** True when the key held no live value, or one that starts with `expectPrevious`. */
  readonly matched: boolean;
  /**
   * When not matched: the live value the key held just before this put, so its bytes travel only in
   * the rare case (another writer, a copy written by hand). Absent when matched.
   */
  readonly previous?: string;
}

/** A change counter that moves by more than this between two reads was reset, not changed that often. */
export const COUNTER_RESET_LEAP = 1_000_000;

/** Whether a change counter went from `before` to `after` by a reset (see `RegistryStore.changeCount`). */
export function isCounterReset(before: number | undefined, after: number): boolean {
  return before !== undefined && before !== 0 && (after < before || after - before > COUNTER_RESET_LEAP);
}

/** Optional capabilities a store declares; core never assumes one that is not declared. */
export interface StoreCapabilities {
  /** The store pushes change notices (`watch`); without it core polls. */
  readonly watch: boolean;
  /** The store expires records itself (Redis `PX`); without it core filters expired records. */
  readonly nativeExpiry: boolean;
  /** The key layout this store object reads and writes. Default (absent) `native`. */
  readonly layout?: KeyLayout;
  /** Every layout `withLayout` can switch to, `layout` included. Default (absent) only `layout`. */
  readonly layouts?: readonly KeyLayout[];
  /**
   * The store keeps a per-service change counter (`changeCount`), so a reader that cannot be pushed
   * notices polls a few bytes and lists only when the counter moved. Default (absent) false.
   */
  readonly changeCount?: boolean;
  /**
   * The store tells its own time (`time()`), so writers and readers check expiry on one clock, the
   * store's, whatever their hosts' clocks say. Default (absent) false: the local clock is used.
   */
  readonly time?: boolean;
  /**
   * The store reads one record by its key (`get`), in a few bytes whatever the size of its service.
   * A writer on a store without `comparePrevious` checks its own key with it (at most once per ttl).
   * Default (absent) false: that check lists the service instead (also at most once per ttl).
   */
  readonly get?: boolean;
  /**
   * `put` honours `PutOptions.expectPrevious`: it compares, atomically and in its one round trip, what
   * the key held with what this writer wrote last, and answers the previous value only when they
   * differ. Writers then detect another live writer of their key at every refresh at no extra command
   * or request. Default (absent) false: core reads the key back at most once per ttl (see `get`).
   */
  readonly comparePrevious?: boolean;
  /**
   * The store answers `probe`: per service, how many records are live, the change counter, and which
   * records expire soon, from its own index, without reading any value. Default (absent) false.
   */
  readonly probe?: boolean;
  /**
   * The store keeps one opaque value per service beside its records, with its own ttl
   * (`getSnapshot`/`putSnapshot`): core keeps there an encrypted snapshot of what a reader decoded, so
   * a cold `find` of a large service decrypts one value instead of one per record. Declared only by
   * the native layout. Default (absent) false: every cold find decodes every record.
   */
  readonly snapshot?: boolean;
}

/** What `probe` answers about one service. */
export interface ServiceProbe {
  readonly service: string;
  /** Live records of the service now. */
  readonly count: number;
  /** The service's change counter, as `changeCount(namespace, service)` would answer. */
  readonly changes: number;
  /**
   * Records that expire within the probe's horizon, soonest first, with milliseconds left by the
   * store's own clock (relative, so the reader's clock skew does not matter). Every other live record
   * expires after the horizon.
   */
  readonly expiring: readonly { readonly instanceId: string; readonly expiresInMs: number }[];
}

/** Options of `watch`. */
export interface StoreWatchOptions {
  /**
   * Only notices of these services are wanted: a store that can subscribe per service does so, so a
   * join costs nothing for readers of other services. A store that cannot filters nothing (the
   * caller filters). Default every service of the namespace.
   */
  readonly services?: readonly string[];
  /**
   * Called with `false` when notices may be missed from now on (the subscription's connection
   * dropped), and with `true` once they flow again, so a reader can say it is stale and re-read.
   * Stores that cannot tell never call it.
   */
  readonly onInterruption?: (resumed: boolean) => void;
}

/**
 * The contract every store implements. Stores throw `RegistryError` (`store-unavailable`,
 * `store-closed`, `invalid-argument`) and never swallow errors: core decides what a failure means.
 */
export interface RegistryStore {
  /** Short name for logs, e.g. `memory`, `redis`, `upstash`. */
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  /**
   * Atomic upsert of one record that expires after `ttlMs` milliseconds. One round trip. Resolves to a
   * `PutResult` when given `expectPrevious` (stores declaring `comparePrevious`), else to nothing.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: stores written before `PutResult` resolve to void, and must still fit.
  put(ref: RecordRef, value: string, ttlMs: number, options?: PutOptions): Promise<PutResult | void>;
  /** Removes one record; removing a missing record is not an error. */
  delete(ref: RecordRef): Promise<void>;
  /** Live records of one service, or of every service when `service` is omitted. */
  list(namespace: string, service?: string): Promise<StoredRecord[]>;
  /**
   * Calls `onChange(service)` when a record of the namespace is written or deleted.
   * Resolves to a function that stops watching. Present only when `capabilities.watch`.
   */
  watch?(
    namespace: string,
    onChange: (service: string) => void,
    options?: StoreWatchOptions,
  ): Promise<() => Promise<void>>;
  /**
   * A number that moves whenever a record of `service` (or, without `service`, of any service of the
   * namespace) is written with changed content (`PutOptions.changed` not false) or deleted. Routine
   * refreshes and expiries need not move it. A counter the store lost (a restart, a flush, its own
   * expiry) starts again from the store's clock in microseconds, so a reader tells a reset (the value
   * falls, or leaps by more than `COUNTER_RESET_LEAP`) from changes; 0 means none yet. One cheap
   * round trip. Present only when `capabilities.changeCount`.
   */
  changeCount?(namespace: string, service?: string): Promise<number>;
  /**
   * The live value at `ref`, or null when there is none. One round trip. Present only when
   * `capabilities.get`.
   */
  get?(ref: RecordRef): Promise<string | null>;
  /**
   * The store's clock, ms since the epoch (Redis `TIME`). One cheap round trip; core calls it at most
   * once per 30 s per registry. Present only when `capabilities.time`.
   */
  time?(): Promise<number>;
  /**
   * Per service (in the order given): live count, change counter, and the records expiring within
   * `horizonMs`. Reads a few dozen bytes per service whatever its size when nothing is about to
   * expire. One round trip. Present only when `capabilities.probe`.
   */
  probe?(namespace: string, services: readonly string[], horizonMs: number): Promise<ServiceProbe[]>;
  /**
   * The service's snapshot value written by `putSnapshot`, or null when there is none (never written,
   * expired, lost). One round trip. Present only when `capabilities.snapshot`. A store whose client can
   * read raw replies may answer the value's bytes (its UTF-8; a sealed snapshot is ASCII) instead of
   * its text: a snapshot is hundreds of kilobytes, and making a string that long costs a JavaScript
   * engine more than reading the bytes (on Node 20 half a millisecond and more for any string over
   * 128 KiB).
   */
  getSnapshot?(namespace: string, service: string): Promise<string | Uint8Array | null>;
  /**
   * Replaces the service's snapshot value; it expires after `ttlMs`. It is no record: `list`, `probe`,
   * change counters and notices never see it. One round trip. Present only when `capabilities.snapshot`.
   */
  putSnapshot?(namespace: string, service: string, value: string, ttlMs: number): Promise<void>;
  /**
   * A view of the same store (same connection, same `close`) that reads and writes `layout`, with its
   * own honest capabilities. Present when `capabilities.layouts` lists more than one layout.
   * `new ServiceRegistry({ mode: 'apicrud', store })` calls it.
   */
  withLayout?(layout: KeyLayout): RegistryStore;
  /** Releases what the store opened (never a client the caller injected). Idempotent. */
  close(): Promise<void>;
}
