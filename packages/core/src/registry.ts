import { RegistryError } from './errors.js';
import { Emitter } from './events.js';
import { type GuardedStore, guardStore } from './guarded-store.js';
import {
  type RegisterOptions,
  type RegistryOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import type { FindResult } from './read/directory.js';
import { assertFunction, FleetReader, type ReadEvents } from './read/fleet-reader.js';
import { Discovery } from './read/view.js';
import { type DiscoveryOptions, resolveDiscoveryOptions } from './read/view-options.js';
import type { DiscoveryView } from './read/view-types.js';
import type { WatchOptions } from './read/watch.js';
import type { Instance, InstanceStatus } from './record.js';
import { type ClockHealth, StoreTime } from './store-time.js';
import { readArgument } from './validate.js';
import { Registration, type RegistrationHealth, type WriteEvents } from './write/registration.js';

/** Payloads of the events a registry emits. */
export interface RegistryEvents extends WriteEvents, ReadEvents {}

/** What `health()` reports about this instance's own registration. */
export interface RegistryHealth extends RegistrationHealth {
  /** Records skipped by `find()` since this registry was created. */
  readonly rejectedRecords: number;
  /** This host's clock against the store's: expiry is written and checked in store time. */
  readonly clock: ClockHealth;
}

/**
 * The registry: `register` this instance, `find` the others. Mirrors apicrud's `ServiceRegistry`
 * (`register`, `get`, `update`, `find`) and adds `setStatus`, `deregister`, `watch`, `close`. A facade
 * over the write side (`Registration`: this instance's record) and the read side (`FleetReader`).
 */
export class ServiceRegistry {
  readonly #options: ResolvedOptions;
  readonly #events: Emitter<RegistryEvents>;
  readonly #registration: Registration;
  readonly #reader: FleetReader;
  readonly #time: StoreTime;
  #closing: Promise<void> | undefined;
  /** `watch()` calls still starting: close() waits for them and stops what they started. */
  readonly #starting = new Set<Promise<unknown>>();
  readonly #store: GuardedStore;
  readonly #views = new Set<DiscoveryView>();

  constructor(options: RegistryOptions) {
    this.#options = resolveOptions(options);
    const { logger } = this.#options;
    const store = guardStore(this.#options.store, logger);
    this.#events = new Emitter((error) =>
      logger.error('registry event listener threw', { error: String(error) }),
    );
    this.#store = store;
    this.#time = new StoreTime(this.#options.store, this.#options.clock, logger);
    this.#registration = new Registration(this.#options, store, this.#time, this.#events);
    this.#reader = new FleetReader(this.#options, store, this.#events, this.#time);
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<E extends keyof RegistryEvents>(event: E, listener: (payload: RegistryEvents[E]) => void): () => void {
    assertFunction(listener, 'an event listener');
    return this.#events.on(event, listener);
  }

  off<E extends keyof RegistryEvents>(event: E, listener: (payload: RegistryEvents[E]) => void): void {
    this.#events.off(event, listener);
  }

  /**
   * Registers this instance: writes its record now and starts the refresh loop. Bad arguments throw a
   * `RegistryError`; a store that cannot be reached does not (the loop retries and `refresh-failed` fires).
   */
  register(endpoints: readonly string[], options: RegisterOptions): Promise<Instance> {
    this.#assertOpen();
    return this.#registration.register(endpoints, options);
  }

  /** The local registration (what this instance writes), or undefined before `register()`. */
  get(): Instance | undefined {
    return this.#registration.get();
  }

  /** Refreshes the record once. Serverless functions call it per invocation; long-lived processes never need to. */
  update(): Promise<Instance> {
    this.#assertOpen();
    return this.#registration.update();
  }

  /** Changes this instance's status and rewrites the record at once. */
  setStatus(status: InstanceStatus): Promise<Instance> {
    this.#assertOpen();
    return this.#registration.setStatus(status);
  }

  /** Live instances of one service (or all), the url map and any conflicts. Throws only for store failures. */
  async find(serviceName?: string): Promise<FindResult> {
    this.#assertOpen();
    return this.#reader.find(serviceName);
  }

  /**
   * Calls `onChange` with a fresh `find()` result now and whenever the live set changes: at once on
   * stores that push change notices, and by polling (for expirations, and on stores that cannot push).
   */
  async watch(
    onChange: (result: FindResult) => void,
    options: WatchOptions = {},
  ): Promise<() => Promise<void>> {
    this.#assertOpen();
    const starting = this.#reader.watch(onChange, options);
    this.#starting.add(starting);
    try {
      return await starting;
    } finally {
      // close() waits for watchers still starting, then stops them all (FleetReader.close).
      this.#starting.delete(starting);
    }
  }

  /**
   * A live, cached view of the fleet (`services`, default all) with synchronous reads and `pick`. It
   * uses this registry's store, codec and namespace; `close()` of the registry closes it too.
   */
  discovery(options?: DiscoveryOptions): DiscoveryView {
    this.#assertOpen();
    const view: DiscoveryView = new Discovery(
      this.#options,
      resolveDiscoveryOptions(options, this.#options),
      this.#store,
      () => this.#views.delete(view),
      this.#time,
    );
    this.#views.add(view);
    return view;
  }

  /** Whether this instance's record is being kept alive. */
  health(): RegistryHealth {
    return {
      ...this.#registration.health(),
      rejectedRecords: this.#reader.rejectedTotal,
      clock: this.#time.health(),
    };
  }

  /** Stops the refresh loop and removes the record now. Throws `store-unavailable` if the delete fails. */
  deregister(): Promise<void> {
    return this.#registration.deregister();
  }

  /**
   * Stops the loop and watchers and deregisters. With `{ deregister: false }` the record is left to
   * expire after its ttl instead (a hand-over, or a test that simulates a crash). The store stays open:
   * it belongs to the caller.
   */
  close(options: { deregister?: boolean } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const keepRecord = readArgument('the close options', () => options?.deregister) === false;
    // Started first and synchronously, so the loop stops and no new write starts before anything awaits.
    const closing = this.#registration.close(keepRecord);
    this.#closing = (async () => {
      await Promise.allSettled([...this.#starting]);
      await Promise.allSettled([
        this.#reader.close(),
        ...[...this.#views].map((view) => view.close()),
        closing,
      ]);
      await closing;
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new RegistryError('invalid-state', 'this registry is closed');
  }
}
