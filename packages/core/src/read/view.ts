import { RegistryError } from '../errors.js';
import { Emitter, type EventSink } from '../events.js';
import { type GuardedStore, guardStore } from '../guarded-store.js';
import type { ResolvedOptions } from '../options.js';
import type { Instance } from '../record.js';
import { StoreTime } from '../store-time.js';
import { assertName, describe } from '../validate.js';
import { assertFunction, FleetReader, type ReadEvents } from './fleet-reader.js';
import { readPickOptions } from './pick.js';
import { buildContent, type Content } from './view-content.js';
import { assertChangedArguments, assertEvent, readStatuses } from './view-input.js';
import {
  type CreateDiscoveryOptions,
  type ResolvedDiscoveryOptions,
  resolveStandaloneOptions,
} from './view-options.js';
import { ViewReads } from './view-reads.js';
import type { Change } from './view-state.js';
import { ViewSync } from './view-sync.js';
import type {
  DiscoveryEvents,
  DiscoverySnapshot,
  DiscoveryStats,
  DiscoveryView,
  InstancesOptions,
  Lease,
  PickOptions,
} from './view-types.js';

const NONE: readonly Instance[] = Object.freeze([]);

/** The discovery view (see `DiscoveryView`). Create it with `registry.discovery()` or `createDiscovery()`. */
export class Discovery implements DiscoveryView {
  readonly ready: Promise<void>;
  readonly #options: ResolvedOptions;
  readonly #events: Emitter<DiscoveryEvents>;
  readonly #reader: FleetReader;
  readonly #reads: ViewReads;
  readonly #sync: ViewSync;
  readonly #onClose: (() => void) | undefined;
  readonly #outstanding = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  #reportedConflicts = new Set<string>();
  #resolveReady!: () => void;
  #rejectReady!: (error: unknown) => void;
  #version = 0;
  #content: Content | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    options: ResolvedOptions,
    view: ResolvedDiscoveryOptions,
    store: GuardedStore = guardStore(options.store, options.logger),
    onClose?: () => void,
    time?: StoreTime,
  ) {
    this.#options = options;
    this.#onClose = onClose;
    this.#events = new Emitter((error) =>
      options.logger.error('discovery event listener threw', { error: String(error) }),
    );
    const forward: EventSink<ReadEvents> = {
      emit: (event, payload) => {
        if (event !== 'rejected-record') return;
        const rejected = payload as ReadEvents['rejected-record'];
        this.#reads.skipped(rejected.reason);
        if (this.#events.has('rejected-record')) this.#events.emit('rejected-record', rejected);
      },
      has: (event) => event === 'rejected-record',
    };
    // Records' expiries are in the store's time (see StoreTime): judge them on the same clock.
    this.#reader = new FleetReader(
      options,
      store,
      forward,
      time ?? new StoreTime(options.store, options.clock, options.logger),
    );
    this.#reads = new ViewReads(options, this.#reader);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // A caller that never awaits `ready` must not see an unhandled rejection when it closes the view.
    this.ready.catch(() => {});
    this.#sync = new ViewSync(options, view, this.#reads, {
      changed: (changes) => this.#changed(changes),
      stale: (error, since) => {
        this.#bump();
        this.#events.emit('stale', { error, since });
      },
      fresh: (staleForMs) => {
        this.#bump();
        this.#events.emit('fresh', { staleForMs });
      },
      guarded: (service, held) => {
        this.#bump();
        this.#events.emit('guarded', { service, held });
      },
      bounded: () => this.#bump(),
      loaded: () => {
        this.#bump();
        this.#resolveReady();
      },
    });
    void this.#sync.start();
  }

  get version(): number {
    return this.#version;
  }

  instances(service: string, options?: InstancesOptions): readonly Instance[] {
    const state = this.#sync.states.get(service);
    if (state === undefined) assertName(service, 'service name');
    if (options === undefined) return state === undefined ? NONE : state.all();
    const statuses = readStatuses(options);
    if (state === undefined) return NONE;
    if (statuses.length === 1 && statuses[0] === 'up') return state.up();
    return state.all().filter((instance) => statuses.includes(instance.status));
  }

  services(): readonly string[] {
    return this.#current().services;
  }

  urlMap(): Readonly<Record<string, string>> {
    return this.#current().urlMap;
  }

  resolve(resource: string): string | undefined {
    if (typeof resource !== 'string') {
      throw new RegistryError('invalid-argument', `resource must be a string, got ${describe(resource)}`);
    }
    return this.#current().urls.get(resource);
  }

  pick(service: string, options?: PickOptions): Instance {
    const request = readPickOptions(options);
    const state = this.#sync.states.get(service);
    if (state === undefined) assertName(service, 'service name');
    const up = state?.up() ?? NONE;
    if (state === undefined || up.length === 0) {
      throw new RegistryError('no-instance', `no up instance of ${service} is known to this view`);
    }
    return state.picker.pick(up, request, (instance) => this.#outstanding.get(leaseKey(instance)) ?? 0);
  }

  lease(service: string, options?: PickOptions): Lease {
    const instance = this.pick(service, options);
    const key = leaseKey(instance);
    this.#outstanding.set(key, (this.#outstanding.get(key) ?? 0) + 1);
    let released = false;
    return {
      instance,
      release: () => {
        if (released) return;
        released = true;
        const count = (this.#outstanding.get(key) ?? 1) - 1;
        if (count <= 0) this.#outstanding.delete(key);
        else this.#outstanding.set(key, count);
      },
    };
  }

  async withInstance<T>(
    service: string,
    fn: (instance: Instance) => T | Promise<T>,
    options?: PickOptions,
  ): Promise<T> {
    assertFunction(fn, 'withInstance callback');
    const lease = this.lease(service, options);
    try {
      return await fn(lease.instance);
    } finally {
      lease.release();
    }
  }

  snapshot(): DiscoverySnapshot {
    const content = this.#current();
    const updatedAt = this.#sync.updatedAt;
    const stale = this.#sync.stale;
    const ageMs = stale && updatedAt !== null ? Math.max(0, this.#options.clock.now() - updatedAt) : 0;
    const guarded: string[] = [];
    for (const state of this.#sync.states.values()) if (state.guard !== undefined) guarded.push(state.name);
    return {
      instances: content.instances,
      urlMap: content.urlMap,
      conflicts: content.conflicts,
      updatedAt,
      stale,
      ageMs,
      guarded: guarded.sort(),
      version: this.#version,
    };
  }

  stats(): DiscoveryStats {
    const { storeReads, storeReadFailures, lastReadMs, lists, probes, counterReads, notices } =
      this.#reads.counters;
    return {
      storeReads,
      storeReadFailures,
      lastReadMs,
      rejectedRecords: this.#reader.rejectedTotal,
      lists,
      probes,
      counterReads,
      notices,
    };
  }

  changed(sinceVersion: number, signal?: AbortSignal): Promise<number> {
    assertChangedArguments(sinceVersion, signal);
    if (sinceVersion !== this.#version || this.#closed !== undefined || signal?.aborted)
      return Promise.resolve(this.#version);
    return new Promise<number>((resolve) => {
      const settle = (): void => {
        this.#waiters.delete(settle);
        signal?.removeEventListener('abort', settle);
        resolve(this.#version);
      };
      this.#waiters.add(settle);
      signal?.addEventListener('abort', settle, { once: true });
    });
  }

  on<E extends keyof DiscoveryEvents>(event: E, listener: (payload: DiscoveryEvents[E]) => void): () => void {
    assertEvent(event);
    assertFunction(listener, 'an event listener');
    return this.#events.on(event, listener);
  }

  off<E extends keyof DiscoveryEvents>(event: E, listener: (payload: DiscoveryEvents[E]) => void): void {
    assertEvent(event);
    this.#events.off(event, listener);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#rejectReady(new RegistryError('invalid-state', 'the discovery view was closed before it loaded'));
      await this.#sync.close();
      for (const settle of [...this.#waiters]) settle();
      this.#onClose?.();
    })();
    return this.#closed;
  }

  #bump(): void {
    this.#version++;
    for (const settle of [...this.#waiters]) settle();
  }

  #changed(changes: readonly Change[]): void {
    this.#bump();
    for (const change of changes) {
      if (change.kind === 'added') this.#events.emit('added', { instance: change.instance });
      else if (change.kind === 'updated')
        this.#events.emit('updated', { instance: change.instance, previous: change.previous });
      else {
        this.#events.emit('removed', { instance: change.instance, reason: change.reason });
      }
    }
    // Each conflict is reported once while it lasts; only current ones are remembered, so a fleet
    // whose conflicting URLs keep changing (every join and leave) holds no growing history.
    const current = new Set<string>();
    for (const conflict of this.#current().conflicts) {
      const key = `${conflict.resource}\n${conflict.urls.join('\n')}`;
      current.add(key);
      if (!this.#reportedConflicts.has(key)) this.#events.emit('conflict', conflict);
    }
    this.#reportedConflicts = current;
  }

  #current(): Content {
    const revision = this.#sync.revision.value;
    if (this.#content?.version === this.#version && this.#content.revision === revision) return this.#content;
    this.#content = buildContent(this.#sync.states.values(), this.#version, revision, this.#options);
    return this.#content;
  }
}

// Leases count per instance identity, so an instance that is updated keeps its calls in flight.
const leaseKey = (instance: Instance): string => `${instance.name}:${instance.id}`;

/** A read-only discovery view straight on a store: no registry, no `publicUrl`, nothing registered. */
export function createDiscovery(options: CreateDiscoveryOptions): DiscoveryView {
  const { registry, view } = resolveStandaloneOptions(options);
  return new Discovery(registry, view);
}
