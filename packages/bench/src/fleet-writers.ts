// The write side of the simulated fleet, in two modes: `registry` (a real `ServiceRegistry` per
// instance, its own refresh loop) and `lean` (fleet-lean.ts: the same puts on the wire, without the
// per-instance machinery). Both write the same records through the same store.

import { gcmCodec, type InstanceStatus, type RecordCodec, ServiceRegistry } from '@service-registry/core';
import type { redisStore } from '@service-registry/store-redis';
import { ENDPOINTS, runBounded, SECRET } from './lib.js';

export const TTL_SECONDS = 30;
export const INTERVAL_SECONDS = 10;

export type FleetMode = 'lean' | 'registry';
export type WriterStore = ReturnType<typeof redisStore>;

/** A live instance picked for a churn event (valid until the next await). */
export interface LiveInstance {
  readonly position: number;
  readonly service: string;
  readonly id: string;
  readonly status: InstanceStatus;
}

/** What the fleet's churn and counters need from either mode. */
export interface FleetWriters {
  /** Refreshes (routine writes of the loops) that succeeded, and that failed, so far. */
  readonly refreshes: number;
  readonly refreshFailures: number;
  /** Routine puts whose duplicate check found another writer's value: 0 unless a writer is wrong. */
  readonly foreignPrevious: number;
  /** Live registrations. */
  readonly size: number;
  /** Registers instances `0 .. count - 1`; each one's refreshes start as it is written. */
  registerAll(count: number): Promise<void>;
  /** One more instance (a churn join), written before this resolves. */
  join(index: number): Promise<void>;
  pick(): LiveInstance | undefined;
  setStatus(instance: LiveInstance, status: InstanceStatus): Promise<void>;
  /** Deregisters: the record is deleted. */
  leave(instance: LiveInstance): Promise<void>;
  /** Stops every refresh; records are left to expire with the server. */
  close(): Promise<void>;
}

/**
 * Writers per codec object. A gcm codec remembers the last body of at most 16,384 records to write
 * it again on a routine refresh; one codec for the whole fleet would forget every record before its
 * next refresh and seal it anew (a fresh IV each time, unlike a real process with its one record).
 */
export const WRITERS_PER_CODEC = 8192;

/** The codec of writer `index`: one per `WRITERS_PER_CODEC` writers, created on first use. */
export function writerCodecs(): (index: number) => RecordCodec {
  const codecs = new Map<number, RecordCodec>();
  return (index) => {
    const group = Math.floor(index / WRITERS_PER_CODEC);
    let codec = codecs.get(group);
    if (!codec) {
      codec = gcmCodec(SECRET);
      codecs.set(group, codec);
    }
    return codec;
  };
}

/** The instance every mode registers as `index`: a realistic record. */
export function instanceShape(index: number, service: string) {
  return {
    serviceName: service,
    instanceId: `i${index}`,
    port: 8080,
    publicUrl: `http://i${index}.fleet.test`,
    meta: { zone: `z${index % 3}`, version: '1.4.2' },
  };
}

/** `registry` mode: a real `ServiceRegistry` per instance over the shared writer stores. */
export class RegistryWriters implements FleetWriters {
  refreshes = 0;
  refreshFailures = 0;
  foreignPrevious = 0;
  readonly #stores: readonly WriterStore[];
  readonly #namespace: string;
  readonly #service: (index: number) => string;
  readonly #codec = writerCodecs();
  readonly #registries: ServiceRegistry[] = [];
  readonly #onRefreshed = () => {
    this.refreshes++;
  };
  readonly #onFailed = () => {
    this.refreshFailures++;
  };
  readonly #onDuplicate = () => {
    this.foreignPrevious++;
  };

  constructor(stores: readonly WriterStore[], namespace: string, service: (index: number) => string) {
    this.#stores = stores;
    this.#namespace = namespace;
    this.#service = service;
  }

  get size(): number {
    return this.#registries.length;
  }

  async #registry(index: number): Promise<ServiceRegistry> {
    const { publicUrl, ...options } = instanceShape(index, this.#service(index));
    const registry = new ServiceRegistry({
      store: this.#stores[index % this.#stores.length] as WriterStore,
      codec: this.#codec(index),
      namespace: this.#namespace,
      publicUrl,
      ttl: TTL_SECONDS,
      interval: INTERVAL_SECONDS,
    });
    registry.on('refreshed', this.#onRefreshed);
    registry.on('refresh-failed', this.#onFailed);
    registry.on('duplicate', this.#onDuplicate);
    await registry.register(ENDPOINTS, options);
    return registry;
  }

  async registerAll(count: number, concurrency = 256): Promise<void> {
    const registries = new Array<ServiceRegistry>(count);
    await runBounded(count, concurrency, async (index) => {
      registries[index] = await this.#registry(index);
    });
    this.#registries.push(...registries);
  }

  async join(index: number): Promise<void> {
    this.#registries.push(await this.#registry(index));
  }

  pick(): LiveInstance | undefined {
    const position = Math.floor(Math.random() * this.#registries.length);
    const own = this.#registries[position]?.get();
    return own && { position, service: own.name, id: own.id, status: own.status };
  }

  async setStatus(instance: LiveInstance, status: InstanceStatus): Promise<void> {
    await (this.#registries[instance.position] as ServiceRegistry).setStatus(status);
  }

  async leave(instance: LiveInstance): Promise<void> {
    const registry = this.#registries[instance.position] as ServiceRegistry;
    this.#registries[instance.position] = this.#registries[this.#registries.length - 1] as ServiceRegistry;
    this.#registries.pop();
    await registry.close();
  }

  async close(): Promise<void> {
    await runBounded(this.#registries.length, 1000, (index) =>
      (this.#registries[index] as ServiceRegistry).close({ deregister: false }),
    );
  }
}
