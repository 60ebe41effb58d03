// The discovery view's public contract. The implementation lives beside it in read/; the HTTP handler
// and the CLI program against these types only.
import type { RegistryError } from '../errors.js';
import type { Instance, InstanceStatus } from '../record.js';
import type { UrlConflict } from './directory.js';

/** How `pick` chooses among a service's `up` instances. */
export type PickStrategy = 'round-robin' | 'random' | 'least-outstanding' | 'hash';

/** Options of `pick`, `lease` and `withInstance`. */
export interface PickOptions {
  /** Default `round-robin`. */
  readonly strategy?: PickStrategy;
  /** The sticky key for `hash` (a user id, a session): the same key picks the same instance. Required for `hash`. */
  readonly key?: string;
}

/** A picked instance whose call is in flight, for `least-outstanding`; `release()` marks its end. Idempotent. */
export interface Lease {
  readonly instance: Instance;
  release(): void;
}

/** Why an instance left the view. */
export type RemovalReason =
  /** Its record was deleted (deregister). */
  | 'deregistered'
  /** Its record's own expiry passed without a refresh (a crash, a partition). */
  | 'expired'
  /** It was held through a suspected store restart and had not come back when the hold ended. */
  | 'guard-released'
  /** The store was unreachable for longer than `maxStaleness`, so the view emptied. */
  | 'stale-bound';

/** Payloads of the view's events. */
export interface DiscoveryEvents {
  added: { instance: Instance };
  removed: { instance: Instance; reason: RemovalReason };
  /** Status, endpoints, public URL, address or meta changed (not a routine refresh). */
  updated: { instance: Instance; previous: Instance };
  /** The store stopped answering; the view serves its last known content. */
  stale: { error: RegistryError; since: number };
  /** The store answers again and the view is reconciled. */
  fresh: { staleForMs: number };
  /** More than `guardShare` of a service vanished at once: held for at most one refresh interval. */
  guarded: { service: string; held: number };
  'rejected-record': { key: string; reason: string };
  conflict: UrlConflict;
}

/** Filter of `instances`. */
export interface InstancesOptions {
  /** Only these statuses. Default every status. */
  readonly status?: InstanceStatus | readonly InstanceStatus[];
}

/** Everything the view holds, at one moment. */
export interface DiscoverySnapshot {
  /**
   * Instances of the watched services, sorted by service name, then instance id. Each `expiresAt` is
   * the deadline the view holds (see `DiscoveryView.instances`).
   */
  readonly instances: readonly Instance[];
  /** Resource -> public URL (+ baseUrl) of an `up` instance serving it. */
  readonly urlMap: Readonly<Record<string, string>>;
  readonly conflicts: readonly UrlConflict[];
  /** Last time the view was known to match the store (ms since the epoch), or null before the first load. */
  readonly updatedAt: number | null;
  /** True while the store cannot be read and the content may be out of date. */
  readonly stale: boolean;
  /** Milliseconds since `updatedAt` (0 while fresh and current). */
  readonly ageMs: number;
  /** Services whose vanished instances are being held through a suspected store restart. */
  readonly guarded: readonly string[];
  /** Moves by at least one on every change of content: an index for long polls and ETags. */
  readonly version: number;
}

/** Counters of the view's own work, for metrics. */
export interface DiscoveryStats {
  /** Store reads (lists and change-counter probes) made, and how many failed. */
  readonly storeReads: number;
  readonly storeReadFailures: number;
  /** Duration of the last store read, ms, or null before the first. */
  readonly lastReadMs: number | null;
  /** Records skipped since the view started (undecryptable, invalid, expired). */
  readonly rejectedRecords: number;
  /** Of `storeReads`: lists (one per service read, or one for all), expiry probes, change-counter reads. */
  readonly lists: number;
  readonly probes: number;
  readonly counterReads: number;
  /** Change notices received from the store. */
  readonly notices: number;
}

/**
 * An in-memory, always-current picture of one, several or all services. Reads are synchronous and
 * never touch the store; the view keeps itself current from change notices, polls and each record's
 * own expiry, and says how stale it is when the store is down.
 */
export interface DiscoveryView {
  /** Resolves after the first load; rejects only if the view is closed first. */
  readonly ready: Promise<void>;
  /** Current content version (see `DiscoverySnapshot.version`). */
  readonly version: number;
  /**
   * Instances of one service held now, sorted by id. `expiresAt` is the deadline the view holds, in
   * the store's clock like a record's own `expires_at`: the record's expiry as read, or a later one
   * the view learned by probing the store's index (a routine refresh is not re-read). A probe that
   * finds no expiry within its horizon holds the horizon's end, a lower bound the view moves on
   * before it passes. `null` for records without an expiry. A moved deadline replaces the instance
   * object but is no change of content: no `updated` event, and `version` does not move.
   */
  instances(service: string, options?: InstancesOptions): readonly Instance[];
  /** Services with at least one instance held now, sorted. */
  services(): readonly string[];
  urlMap(): Readonly<Record<string, string>>;
  /** The public URL serving `resource` (`up` instances only), or undefined. */
  resolve(resource: string): string | undefined;
  /** One `up` instance of `service`; `RegistryError('no-instance')` when there is none. */
  pick(service: string, options?: PickOptions): Instance;
  /** Like `pick`, and counts the call as in flight until `release()` (for `least-outstanding`). */
  lease(service: string, options?: PickOptions): Lease;
  /** Leases an instance, runs `fn` with it and releases it however `fn` ends. */
  withInstance<T>(
    service: string,
    fn: (instance: Instance) => T | Promise<T>,
    options?: PickOptions,
  ): Promise<T>;
  snapshot(): DiscoverySnapshot;
  stats(): DiscoveryStats;
  /**
   * Resolves with the new version once `version` differs from `sinceVersion` (at once if it already
   * does), or with the current version when `signal` aborts: the primitive for blocking queries.
   */
  changed(sinceVersion: number, signal?: AbortSignal): Promise<number>;
  on<E extends keyof DiscoveryEvents>(event: E, listener: (payload: DiscoveryEvents[E]) => void): () => void;
  off<E extends keyof DiscoveryEvents>(event: E, listener: (payload: DiscoveryEvents[E]) => void): void;
  /** Stops every timer, subscription and poll the view started. Idempotent. */
  close(): Promise<void>;
}
