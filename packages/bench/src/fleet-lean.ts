// `lean` mode of the fleet's write side: each simulated instance sends what a real `ServiceRegistry`
// sends (registration.ts), without a registry object, its timers and events per instance. Its record
// is the one a registry writes (core's `serializeRecord`, with an owner token), encoded by the real
// gcm codec per write (`encodeRecord`: the g2 body is written again, only the expiry's MAC is new),
// and written through the real store's `put`: `changed: true` on a join or a status change, `changed:
// false` on a routine refresh, with the duplicate check's expected previous (the fingerprint of what
// it wrote last), and the store learning each service's upkeep horizon. Each instance keeps its own
// store clock (core's `StoreTime`: a `TIME` at registration, then every 30 s). One wheel of 10 ms
// buckets schedules every refresh at its jittered interval from the start of the last one, and a
// bounded number of puts is in flight over the shared connections.

import {
  type InstanceStatus,
  type RecordRef,
  recordKey,
  StoreTime,
  serializeRecord,
  silentLogger,
  systemClock,
} from '@service-registry/core';
// Not exported by core: the registry's own helpers, so the record and the check are exactly its own.
import { formatCreated } from '../../core/src/record.js';
import { newOwnerToken, writeFingerprint } from '../../core/src/write/duplicates.js';
import {
  type FleetWriters,
  INTERVAL_SECONDS,
  instanceShape,
  type LiveInstance,
  TTL_SECONDS,
  type WriterStore,
  writerCodecs,
} from './fleet-writers.js';
import { ENDPOINTS, runBounded } from './lib.js';

/** The registry's default jitter: each delay is the interval ± 10 %. */
const JITTER = 0.1;
/** The refresh loop's first retry delay after a failure; doubles up to half the interval. */
const FIRST_RETRY_MS = 250;
const SLOT_MS = 10;
/** Puts in flight at once, over all connections (a registry has at most one). */
export const LEAN_IN_FLIGHT = 512;

const jittered = (delayMs: number) => Math.max(1, delayMs * (1 + JITTER * (2 * Math.random() - 1)));

interface LeanInstance {
  readonly index: number;
  readonly ref: RecordRef;
  readonly key: string;
  readonly store: WriterStore;
  readonly time: StoreTime;
  readonly owner: string;
  readonly created: string;
  readonly meta: Readonly<Record<string, string>>;
  readonly publicUrl: string;
  status: InstanceStatus;
  /** The plaintext for `status`, without its expiry (g2 keeps the expiry beside the ciphertext). */
  content: string;
  /** Status of the last write that landed; undefined after a failure, so the next one is `changed`. */
  writtenStatus: InstanceStatus | undefined;
  /** The value written last: its fingerprint is the next refresh's expected previous. */
  lastValue: string | undefined;
  /** When the next refresh is due (performance.now ms). */
  dueAt: number;
  failures: number;
  left: boolean;
  /** Writes of one instance never overlap, as the registry chains them. */
  writes: Promise<void>;
}

/** Due refreshes in 10 ms buckets: one timer for the whole fleet, not one per instance. */
class DueWheel {
  readonly #buckets: LeanInstance[][];
  #cursor: number;

  constructor(spanMs: number, now: number) {
    this.#buckets = Array.from({ length: Math.ceil(spanMs / SLOT_MS) }, () => []);
    this.#cursor = Math.floor(now / SLOT_MS);
  }

  add(instance: LeanInstance): void {
    const size = this.#buckets.length;
    const tick = Math.min(
      Math.max(Math.floor(instance.dueAt / SLOT_MS), this.#cursor),
      this.#cursor + size - 1,
    );
    (this.#buckets[tick % size] as LeanInstance[]).push(instance);
  }

  /** Everything due by `now`, in due order. */
  *due(now: number): Generator<LeanInstance> {
    const last = Math.floor(now / SLOT_MS);
    const size = this.#buckets.length;
    for (; this.#cursor <= last; this.#cursor++) {
      const slot = this.#cursor % size;
      const bucket = this.#buckets[slot] as LeanInstance[];
      if (bucket.length === 0) continue;
      this.#buckets[slot] = [];
      yield* bucket;
    }
  }
}

export class LeanWriters implements FleetWriters {
  refreshes = 0;
  refreshFailures = 0;
  foreignPrevious = 0;
  /** Start of each refresh after its due time, ms, while `recordLag` is on (the window). */
  readonly lagMs: number[] = [];
  recordLag = false;
  readonly #stores: readonly WriterStore[];
  readonly #namespace: string;
  readonly #service: (index: number) => string;
  readonly #codec = writerCodecs();
  readonly #live: LeanInstance[] = [];
  readonly #ttlMs: number;
  readonly #intervalMs: number;
  readonly #wheel: DueWheel;
  readonly #queue: LeanInstance[] = [];
  #queueHead = 0;
  #inFlight = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /** `timing`: the fleet's ttl and interval, ms (default 30 s and 10 s; the smoke test's are shorter). */
  constructor(
    stores: readonly WriterStore[],
    namespace: string,
    service: (index: number) => string,
    timing = { ttlMs: TTL_SECONDS * 1000, intervalMs: INTERVAL_SECONDS * 1000 },
  ) {
    this.#stores = stores;
    this.#namespace = namespace;
    this.#service = service;
    this.#ttlMs = timing.ttlMs;
    this.#intervalMs = timing.intervalMs;
    this.#wheel = new DueWheel(2 * timing.intervalMs, performance.now());
  }

  get size(): number {
    return this.#live.length;
  }

  /** Refreshes due but not started yet (the generator falling behind shows here first). */
  get backlog(): number {
    return this.#queue.length - this.#queueHead;
  }

  #content(instance: Omit<LeanInstance, 'content'>): string {
    return serializeRecord(
      {
        name: instance.ref.service,
        id: instance.ref.instanceId,
        info: {
          endpoints: [...ENDPOINTS],
          ipv4: null,
          port: 8080,
          publicUrl: instance.publicUrl,
          created: instance.created,
        },
        status: instance.status,
        meta: instance.meta,
        expiresAt: null,
      },
      'native',
      instance.owner,
    );
  }

  #create(index: number): LeanInstance {
    const shape = instanceShape(index, this.#service(index));
    const store = this.#stores[index % this.#stores.length] as WriterStore;
    const ref = { namespace: this.#namespace, service: shape.serviceName, instanceId: shape.instanceId };
    const base = {
      index,
      ref,
      key: recordKey(ref),
      store,
      time: new StoreTime(store, systemClock, silentLogger),
      owner: newOwnerToken(),
      created: formatCreated(Date.now()),
      meta: shape.meta,
      publicUrl: shape.publicUrl,
      status: 'up' as InstanceStatus,
      writtenStatus: undefined,
      lastValue: undefined,
      dueAt: 0,
      failures: 0,
      left: false,
      writes: Promise.resolve(),
    };
    return { ...base, content: this.#content(base) };
  }

  /**
   * One write, as the registry's `#write`: the store clock resynced in the background, a fresh
   * expiry, `changed` when the status differs from what landed last, the expected previous only on
   * a loop's refresh (`verify`). Resolves true when it landed.
   */
  async #write(instance: LeanInstance, verify: boolean): Promise<boolean | undefined> {
    // Left meanwhile: nothing more is written (the registry clears its instance on deregister).
    if (instance.left) return undefined;
    void instance.time.refresh();
    const expiresAt = instance.time.now() + this.#ttlMs;
    const status = instance.status;
    const lastValue = instance.lastValue;
    try {
      const value = await this.#codec(instance.index).encodeRecord?.(
        instance.content,
        expiresAt,
        instance.key,
      );
      if (value === undefined) throw new Error('the gcm codec has no encodeRecord');
      const expectPrevious =
        verify && lastValue !== undefined ? writeFingerprint(lastValue, 'gcm') : undefined;
      const result = await instance.store.put(instance.ref, value, this.#ttlMs, {
        changed: instance.writtenStatus !== status,
        expectPrevious,
      });
      if (result && !result.matched) this.foreignPrevious++;
      instance.lastValue = value;
      instance.writtenStatus = status;
      return true;
    } catch {
      instance.writtenStatus = undefined;
      return false;
    }
  }

  #chain(instance: LeanInstance, write: () => Promise<boolean | undefined>): Promise<boolean | undefined> {
    const next = instance.writes.then(write);
    instance.writes = next.then(() => {});
    return next;
  }

  /** A loop's tick: the write, then the next one a jittered interval after this one began. */
  async #refresh(instance: LeanInstance): Promise<void> {
    if (instance.left) return;
    const startedAt = performance.now();
    if (this.recordLag) this.lagMs.push(startedAt - instance.dueAt);
    const ok = await this.#chain(instance, () => this.#write(instance, true));
    if (ok === undefined) return;
    if (ok) {
      this.refreshes++;
      instance.failures = 0;
    } else {
      this.refreshFailures++;
      instance.failures++;
    }
    if (instance.left || this.#closed) return;
    instance.dueAt = ok
      ? startedAt + jittered(this.#intervalMs)
      : performance.now() +
        jittered(Math.min(this.#intervalMs / 2, FIRST_RETRY_MS * 2 ** (instance.failures - 1)));
    this.#wheel.add(instance);
  }

  #pump = (): void => {
    for (const instance of this.#wheel.due(performance.now())) {
      if (!instance.left) this.#queue.push(instance);
    }
    while (this.#inFlight < LEAN_IN_FLIGHT && this.#queueHead < this.#queue.length) {
      const instance = this.#queue[this.#queueHead++] as LeanInstance;
      this.#inFlight++;
      void this.#refresh(instance).finally(() => {
        this.#inFlight--;
        if (this.#queueHead < this.#queue.length) this.#pump();
      });
    }
    if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
  };

  #start(): void {
    this.#timer ??= setInterval(this.#pump, SLOT_MS);
  }

  /**
   * A join, as `register()`: the first store-clock measurement, then the changed write. `spread`: the
   * first refresh at a random point of the next interval, not one interval after the write, so a fleet
   * written in a few seconds refreshes at an even rate, as one whose processes started at any time.
   */
  async #join(index: number, spread: boolean): Promise<LeanInstance> {
    const instance = this.#create(index);
    await instance.time.refresh();
    const startedAt = performance.now();
    const ok = await this.#chain(instance, () => this.#write(instance, false));
    instance.failures = ok ? 0 : 1;
    const delay = spread ? Math.random() * this.#intervalMs : jittered(this.#intervalMs);
    instance.dueAt = startedAt + (ok ? delay : jittered(FIRST_RETRY_MS));
    this.#live.push(instance);
    this.#wheel.add(instance);
    return instance;
  }

  async registerAll(count: number, concurrency = LEAN_IN_FLIGHT): Promise<void> {
    this.#start();
    await runBounded(count, concurrency, (index) => this.#join(index, true));
  }

  async join(index: number): Promise<void> {
    this.#start();
    await this.#join(index, false);
  }

  pick(): LiveInstance | undefined {
    const position = Math.floor(Math.random() * this.#live.length);
    const instance = this.#live[position];
    return (
      instance && {
        position,
        service: instance.ref.service,
        id: instance.ref.instanceId,
        status: instance.status,
      }
    );
  }

  async setStatus(picked: LiveInstance, status: InstanceStatus): Promise<void> {
    const instance = this.#live[picked.position] as LeanInstance;
    instance.status = status;
    instance.content = this.#content(instance);
    await this.#chain(instance, () => this.#write(instance, false));
  }

  async leave(picked: LiveInstance): Promise<void> {
    const instance = this.#live[picked.position] as LeanInstance;
    this.#live[picked.position] = this.#live[this.#live.length - 1] as LeanInstance;
    this.#live.pop();
    // Out of the schedule at once; the write in flight lands first, the delete then removes it.
    instance.left = true;
    await instance.writes;
    await instance.store.delete(instance.ref);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const instance of this.#live) instance.left = true;
    await Promise.all(this.#live.map((instance) => instance.writes));
  }
}
