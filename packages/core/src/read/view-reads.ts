import { RegistryError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import type { RegistryStore, ServiceProbe } from '../store.js';
import type { FleetReader } from './fleet-reader.js';

/** Counters behind `DiscoveryView.stats()`. */
export interface ReadCounters {
  storeReads: number;
  storeReadFailures: number;
  lastReadMs: number | null;
  lists: number;
  probes: number;
  counterReads: number;
  notices: number;
}

/**
 * The view's store access: lists through the fleet reader (which decrypts only changed records),
 * probes and counters where the store declares them, and the change-notice subscription. Every call
 * is counted and timed; a store's own failure becomes `store-unavailable`.
 */
export class ViewReads {
  readonly counters: ReadCounters = {
    storeReads: 0,
    storeReadFailures: 0,
    lastReadMs: null,
    lists: 0,
    probes: 0,
    counterReads: 0,
    notices: 0,
  };
  readonly #options: ResolvedOptions;
  readonly #store: RegistryStore;
  readonly #reader: FleetReader;
  #unwatch: (() => Promise<void>) | undefined;
  #subscribing:
    | {
        onNotice: (service: string) => void;
        services: readonly string[] | undefined;
        onInterruption: (resumed: boolean) => void;
      }
    | undefined;
  #subscribeRetryAt = 0;
  #closed = false;

  constructor(options: ResolvedOptions, reader: FleetReader) {
    this.#options = options;
    this.#store = options.store;
    this.#reader = reader;
  }

  /** How far the store's clock runs ahead of this process's, ms (see `FleetReader.storeOffsetMs`). */
  get storeOffsetMs(): number {
    return this.#reader.storeOffsetMs;
  }

  /** The store can push change notices and this view is subscribed. */
  get pushes(): boolean {
    return this.#unwatch !== undefined;
  }

  /** The store can push but the subscription failed; it is retried, and the view polls meanwhile. */
  get awaitingSubscription(): boolean {
    return this.#unwatch === undefined && this.#subscribing !== undefined && !this.#closed;
  }

  get counts(): boolean {
    return this.#store.capabilities.changeCount === true && typeof this.#store.changeCount === 'function';
  }

  get probes(): boolean {
    return this.#store.capabilities.probe === true && typeof this.#store.probe === 'function';
  }

  async #timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const { clock } = this.#options;
    const started = clock.now();
    this.counters.storeReads++;
    try {
      return await run();
    } catch (error) {
      this.counters.storeReadFailures++;
      if (error instanceof RegistryError) throw error;
      throw new RegistryError('store-unavailable', `${this.#store.name} store: ${operation} failed`, {
        cause: error,
      });
    } finally {
      this.counters.lastReadMs = clock.now() - started;
    }
  }

  /** Records lists skipped as expired since the last `takeRejected()`. */
  #rejectedSince = 0;

  /** Live instances of one service, or of all; expired and undecryptable records are skipped and counted. */
  list(service: string | undefined): Promise<Instance[]> {
    this.counters.lists++;
    return this.#timed('list', async () => [...(await this.#reader.find(service)).instances]);
  }

  /** The fleet reader skipped a record (its `rejected-record` event). */
  skipped(reason: string): void {
    if (reason === 'expired') this.#rejectedSince++;
  }

  /** How many records lists skipped as expired (still in the store, past their expiry) since the last call. */
  takeRejected(): number {
    const rejected = this.#rejectedSince;
    this.#rejectedSince = 0;
    return rejected;
  }

  changeCount(): Promise<number> {
    this.counters.counterReads++;
    return this.#timed('changeCount', async () => {
      const count = await (this.#store.changeCount as NonNullable<RegistryStore['changeCount']>)(
        this.#options.namespace,
      );
      if (typeof count !== 'number')
        throw new RegistryError('store-unavailable', 'changeCount answered no number');
      return count;
    });
  }

  probe(services: readonly string[], horizonMs: number): Promise<ServiceProbe[]> {
    this.counters.probes++;
    return this.#timed('probe', async () => {
      const results = await (this.#store.probe as NonNullable<RegistryStore['probe']>)(
        this.#options.namespace,
        services,
        Math.round(horizonMs),
      );
      if (!Array.isArray(results) || results.length !== services.length)
        throw new RegistryError('store-unavailable', 'probe answered a list of the wrong length');
      return results;
    });
  }

  /** Subscribes to change notices when the store pushes them. Never throws: a failure is retried. */
  async subscribe(
    onNotice: (service: string) => void,
    services: readonly string[] | undefined,
    onInterruption: (resumed: boolean) => void,
  ): Promise<void> {
    if (!this.#store.capabilities.watch || typeof this.#store.watch !== 'function') return;
    this.#subscribing = {
      onNotice: (service) => {
        this.counters.notices++;
        onNotice(service);
      },
      services,
      onInterruption,
    };
    await this.#trySubscribe();
  }

  async resubscribeIfNeeded(): Promise<void> {
    if (this.awaitingSubscription && this.#options.clock.now() >= this.#subscribeRetryAt)
      await this.#trySubscribe();
  }

  async #trySubscribe(): Promise<void> {
    const subscribing = this.#subscribing;
    const watch = this.#store.watch;
    if (subscribing === undefined || watch === undefined) return;
    try {
      const options = {
        onInterruption: subscribing.onInterruption,
        ...(subscribing.services === undefined ? {} : { services: subscribing.services }),
      };
      const unwatch = await watch.call(this.#store, this.#options.namespace, subscribing.onNotice, options);
      if (this.#closed) {
        await unwatch().catch(() => {});
        return;
      }
      this.#unwatch = unwatch;
    } catch (error) {
      this.#subscribeRetryAt = this.#options.clock.now() + Math.min(1000, this.#options.intervalMs);
      this.#options.logger.warn('discovery: could not subscribe to change notices; polling meanwhile', {
        error: String(error),
      });
    }
  }

  async unsubscribe(): Promise<void> {
    this.#closed = true;
    const unwatch = this.#unwatch;
    this.#unwatch = undefined;
    if (unwatch === undefined) return;
    try {
      await unwatch();
    } catch (error) {
      this.#options.logger.warn('discovery: unsubscribing failed', { error: String(error) });
    }
  }
}
