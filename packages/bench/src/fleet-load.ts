// The simulated fleet of the `fleet` part: its write side (fleet-writers.ts: real `ServiceRegistry`
// objects, or the lean generator of fleet-lean.ts that sends the same puts) and real `createDiscovery`
// views, over a handful of shared Redis connections instead of one per instance. Each view gets its
// own store object over a shared command connection, so it has its own subscriber connection: Redis
// fans each change notice out to every view as it would to separate processes.

import { createDiscovery, type DiscoveryView, gcmCodec, type InstanceStatus } from '@service-registry/core';
import { redisStore } from '@service-registry/store-redis';
import type { Cluster, Redis } from 'ioredis';
import { LeanWriters } from './fleet-lean.js';
import {
  type FleetMode,
  type FleetWriters,
  INTERVAL_SECONDS,
  RegistryWriters,
  TTL_SECONDS,
  type WriterStore,
} from './fleet-writers.js';
import { runBounded, SECRET } from './lib.js';

export { INTERVAL_SECONDS, TTL_SECONDS };

/** Sizes of one simulated fleet. */
export interface FleetShape {
  readonly instances: number;
  readonly services: number;
  readonly views: number;
  /** Services each view holds (every service is held by views × viewServices / services views). */
  readonly viewServices: number;
  /** Shared command connections for the instances, and as many for the views. */
  readonly connections: number;
  /** How the instances are simulated: `lean` (the same puts, no registry objects) or `registry`. */
  readonly mode: FleetMode;
  /**
   * The instances' connections auto-pipeline (ioredis `enableAutoPipelining`): the puts of one
   * event-loop turn leave in one socket write. Cheaper for the generator (a loopback write per
   * command was its largest cost), and Redis reads more commands per read.
   */
  readonly pipelined: boolean;
}

type Kind = 'join' | 'leave' | 'status';

interface Pending {
  readonly kind: Kind;
  readonly startedAt: number;
  readonly status?: InstanceStatus;
  left: number;
}

/** Time from a write's call to its effect in every view holding the service, per kind. */
export class FreshnessTracker {
  readonly #pending = new Map<string, Pending>();
  readonly samples: Record<Kind, number[]> = { join: [], leave: [], status: [] };
  /** Writes whose effect had not reached every holding view when `missed()` was asked. */
  expect(kind: Kind, service: string, id: string, holders: number, status?: InstanceStatus): void {
    if (holders === 0) return;
    this.#pending.set(`${service}\n${id}`, { kind, startedAt: performance.now(), status, left: holders });
  }

  seen(kind: Kind, service: string, id: string, status?: InstanceStatus): void {
    const key = `${service}\n${id}`;
    const pending = this.#pending.get(key);
    if (!pending || pending.kind !== kind || (kind === 'status' && pending.status !== status)) return;
    this.samples[kind].push(performance.now() - pending.startedAt);
    if (--pending.left === 0) this.#pending.delete(key);
  }

  /** Views still waiting for an effect older than `graceMs` (they missed it). */
  missed(graceMs: number): number {
    const now = performance.now();
    let missed = 0;
    for (const pending of this.#pending.values())
      if (now - pending.startedAt > graceMs) missed += pending.left;
    return missed;
  }
}

/** A running fleet: its writers, views and counters. */
export class SimulatedFleet {
  readonly shape: FleetShape;
  readonly namespace = `fleet-${Date.now().toString(36)}`;
  readonly freshness = new FreshnessTracker();
  readonly churned: Record<Kind, number> = { join: 0, leave: 0, status: 0 };
  readonly writers: FleetWriters;
  readonly #codec = gcmCodec(SECRET);
  readonly #clients: (Redis | Cluster)[] = [];
  readonly #writerStores: WriterStore[];
  readonly #viewStores: WriterStore[] = [];
  readonly views: DiscoveryView[] = [];
  /** How many views hold each service. */
  readonly #holders: number[];
  #joined = 0;

  constructor(shape: FleetShape, connect: (pipelined: boolean) => Redis | Cluster) {
    this.shape = shape;
    // Lean writers: auto-pipelined (see `FleetShape.pipelined`); views: plain connections.
    for (let index = 0; index < shape.connections * 2; index++)
      this.#clients.push(connect(index < shape.connections && shape.pipelined));
    this.#writerStores = this.#clients.slice(0, shape.connections).map((client) => redisStore({ client }));
    this.#holders = new Array(shape.services).fill(0);
    const service = (index: number) => this.service(index);
    this.writers =
      shape.mode === 'lean'
        ? new LeanWriters(this.#writerStores, this.namespace, service)
        : new RegistryWriters(this.#writerStores, this.namespace, service);
  }

  get refreshes(): number {
    return this.writers.refreshes;
  }

  get refreshFailures(): number {
    return this.writers.refreshFailures;
  }

  service(index: number): string {
    return `svc${index % this.shape.services}`;
  }

  /** The services view `index` holds: `viewServices` consecutive ones, so coverage is even. */
  viewServices(index: number): string[] {
    const { viewServices, services } = this.shape;
    return Array.from({ length: Math.min(viewServices, services) }, (_, offset) =>
      this.service(index * viewServices + offset),
    );
  }

  /** Registers every instance (their refreshes start as each one is written). */
  async register(): Promise<void> {
    await this.writers.registerAll(this.shape.instances);
    this.#joined = this.shape.instances;
  }

  /** Opens every view (each its own store object, so its own subscriber) and waits for their loads. */
  async openViews(concurrency = 50): Promise<void> {
    const viewClients = this.#clients.slice(this.shape.connections);
    await runBounded(this.shape.views, concurrency, async (index) => {
      const store = redisStore({ client: viewClients[index % viewClients.length] as Redis | Cluster });
      this.#viewStores.push(store);
      const services = this.viewServices(index);
      for (const name of services) {
        const at = Number(name.slice(3));
        this.#holders[at] = (this.#holders[at] ?? 0) + 1;
      }
      const view = createDiscovery({
        store,
        codec: this.#codec,
        namespace: this.namespace,
        services,
        ttl: TTL_SECONDS,
        interval: INTERVAL_SECONDS,
      });
      view.on('added', ({ instance }) => this.freshness.seen('join', instance.name, instance.id));
      view.on('removed', ({ instance }) => this.freshness.seen('leave', instance.name, instance.id));
      view.on('updated', ({ instance }) =>
        this.freshness.seen('status', instance.name, instance.id, instance.status),
      );
      this.views.push(view);
      await view.ready;
    });
  }

  /** Instances held by all views together. */
  cachedInstances(): number {
    let held = 0;
    for (const [index, view] of this.views.entries()) {
      for (const name of this.viewServices(index)) held += view.instances(name).length;
    }
    return held;
  }

  /** One churn event, rotating join, status change, leave: what a deploy or an autoscaler does. */
  async churn(): Promise<void> {
    const step = this.churned.join + this.churned.leave + this.churned.status;
    const kind: Kind = (['join', 'status', 'leave'] as const)[step % 3] as Kind;
    this.churned[kind]++;
    if (kind === 'join') {
      const index = this.#joined++;
      const service = this.service(index);
      this.freshness.expect('join', service, `i${index}`, this.#holders[index % this.shape.services] ?? 0);
      await this.writers.join(index);
      return;
    }
    const own = this.writers.pick();
    if (!own) return;
    const holders = this.#holders[Number(own.service.slice(3))] ?? 0;
    if (kind === 'status') {
      const status: InstanceStatus = own.status === 'up' ? 'draining' : 'up';
      this.freshness.expect('status', own.service, own.id, holders, status);
      await this.writers.setStatus(own, status);
      return;
    }
    // A leave: deregister (the record is deleted, every holding view drops it).
    this.freshness.expect('leave', own.service, own.id, holders);
    await this.writers.leave(own);
  }

  /** Live registrations now. */
  get size(): number {
    return this.writers.size;
  }

  async close(): Promise<void> {
    await runBounded(this.views.length, 100, (index) => (this.views[index] as DiscoveryView).close());
    // Records are left to expire with the server: 100,000 deletes would only slow the teardown.
    await this.writers.close();
    await Promise.all([...this.#viewStores, ...this.#writerStores].map((store) => store.close()));
    for (const client of this.#clients) client.disconnect();
  }
}
