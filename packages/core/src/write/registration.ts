import { RegistryError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { GuardedStore } from '../guarded-store.js';
import { REGISTER_OPTION_KEYS, type RegisterOptions, type ResolvedOptions } from '../options.js';
import {
  formatCreated,
  INSTANCE_STATUSES,
  type Instance,
  type InstanceStatus,
  recordKey,
  serializeRecord,
} from '../record.js';
import type { RecordRef } from '../store.js';
import {
  assertEndpoints,
  assertIpv4,
  assertKnownOptions,
  assertMeta,
  assertName,
  assertPort,
  describe,
  readArgument,
} from '../validate.js';
import { RefreshLoop } from './refresh-loop.js';

/** Events of the write side: what happened to this instance's own record. */
export interface WriteEvents {
  registered: { instance: Instance };
  refreshed: { instance: Instance; durationMs: number };
  'refresh-failed': { error: RegistryError; consecutiveFailures: number };
  recovered: { instance: Instance; failures: number; downtimeMs: number };
  deregistered: { name: string; id: string };
}

/** What the write side reports about this instance's own registration. */
export interface RegistrationHealth {
  readonly registered: boolean;
  /** True when the last write reached the store. */
  readonly ok: boolean;
  /** Last successful write, ms since the epoch. */
  readonly lastRefreshAt: number | null;
  readonly lastAttemptAt: number | null;
  readonly lastError: RegistryError | null;
  readonly consecutiveFailures: number;
  /** When the refresh loop writes next, or null when it is not running. */
  readonly nextRefreshAt: number | null;
}

/**
 * The write side: this instance's one record. `register` writes it and starts the refresh loop;
 * `update`, `setStatus` and `deregister` change it. Writes are chained, so they never overlap.
 */
export class Registration {
  readonly #options: ResolvedOptions;
  readonly #store: GuardedStore;
  readonly #events: EventSink<WriteEvents>;
  readonly #loop: RefreshLoop;
  #instance: Instance | undefined;
  #ref: RecordRef | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  /** The registration as last written successfully; a refresh of the same object changes nothing. */
  #written: Instance | undefined;
  #closed = false;
  #health = {
    ok: false,
    lastRefreshAt: null as number | null,
    lastAttemptAt: null as number | null,
    lastError: null as RegistryError | null,
    consecutiveFailures: 0,
    failingSince: null as number | null,
  };

  constructor(options: ResolvedOptions, store: GuardedStore, events: EventSink<WriteEvents>) {
    this.#options = options;
    this.#store = store;
    this.#events = events;
    this.#loop = new RefreshLoop({
      clock: options.clock,
      intervalMs: options.intervalMs,
      jitter: options.jitter,
      refresh: () =>
        this.#write().then(
          () => true,
          () => false,
        ),
    });
  }

  /**
   * Registers this instance: writes its record now and starts the refresh loop. Bad arguments throw a
   * `RegistryError`; a store that cannot be reached does not (the loop retries and `refresh-failed` fires).
   */
  async register(endpoints: readonly string[], options: RegisterOptions): Promise<Instance> {
    this.#assertOpen();
    if (this.#instance) {
      throw new RegistryError(
        'invalid-state',
        `already registered as ${this.#instance.name}:${this.#instance.id}; deregister first`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new RegistryError(
        'invalid-argument',
        'register needs an options object with serviceName, instanceId and port',
      );
    }
    readArgument('the register options', () =>
      assertKnownOptions(options, REGISTER_OPTION_KEYS, 'register option'),
    );
    const {
      serviceName,
      instanceId,
      port,
      ipv4 = null,
      meta = {},
      status = 'up',
      refresh = true,
    } = readArgument('the register options', () => ({
      serviceName: options.serviceName,
      instanceId: options.instanceId,
      port: options.port,
      ipv4: options.ipv4,
      meta: options.meta,
      status: options.status,
      refresh: options.refresh,
    }));
    assertEndpoints(endpoints);
    assertName(serviceName, 'service name');
    assertName(instanceId, 'instance id');
    assertPort(port);
    assertIpv4(ipv4);
    assertMeta(meta);
    assertStatus(status);
    const { publicUrl, clock, namespace } = this.#options;
    if (publicUrl === undefined) {
      throw new RegistryError(
        'invalid-argument',
        'publicUrl is required to register (set it in the ServiceRegistry options)',
      );
    }
    const instance: Instance = {
      name: serviceName,
      id: instanceId,
      info: { endpoints: [...endpoints], ipv4, port, publicUrl, created: formatCreated(clock.now()) },
      status,
      meta: { ...meta },
      expiresAt: null,
    };
    const ref: RecordRef = { namespace, service: serviceName, instanceId };
    // Encoding once here turns an oversized record into an error for the caller, not for the loop. With
    // its expiry, as every write has: without it a record a few bytes under the limit passed here and
    // then failed every refresh.
    await this.#encode({ ...instance, expiresAt: clock.now() + this.#options.ttlMs }, ref);
    this.#instance = instance;
    this.#ref = ref;
    let ok = true;
    try {
      await this.#write();
    } catch {
      ok = false;
    }
    if (ok) this.#events.emit('registered', { instance: this.get() as Instance });
    if (refresh) this.#loop.start(ok);
    return this.get() as Instance;
  }

  /** The local registration (what this instance writes), or undefined before `register()`. */
  get(): Instance | undefined {
    return this.#instance && { ...this.#instance, expiresAt: this.#lastExpiresAt };
  }
  #lastExpiresAt: number | null = null;

  /** Refreshes the record once. Serverless functions call it per invocation; long-lived processes never need to. */
  async update(): Promise<Instance> {
    this.#assertOpen();
    if (!this.#instance) throw new RegistryError('invalid-state', 'update() needs register() first');
    await this.#write();
    return this.get() as Instance;
  }

  /** Changes this instance's status and rewrites the record at once. */
  async setStatus(status: InstanceStatus): Promise<Instance> {
    this.#assertOpen();
    assertStatus(status);
    const current = this.#instance;
    if (!current || !this.#ref)
      throw new RegistryError('invalid-state', 'setStatus() needs register() first');
    // A longer status can push a record at the size limit over it: refuse it here, before the loop keeps it.
    await this.#encode(
      { ...current, status, expiresAt: this.#options.clock.now() + this.#options.ttlMs },
      this.#ref,
    );
    if (!this.#instance) throw new RegistryError('invalid-state', 'deregistered while setStatus() ran');
    this.#instance = { ...this.#instance, status };
    await this.#write();
    return this.get() as Instance;
  }

  /** Whether this instance's record is being kept alive. */
  health(): RegistrationHealth {
    const { failingSince: _, ...rest } = this.#health;
    return {
      ...rest,
      registered: this.#instance !== undefined,
      nextRefreshAt: this.#loop.nextAt,
    };
  }

  /** Stops the refresh loop and removes the record now. Throws `store-unavailable` if the delete fails. */
  async deregister(): Promise<void> {
    this.#loop.stop();
    const ref = this.#ref;
    const instance = this.#instance;
    await this.#writes.catch(() => {});
    this.#instance = undefined;
    this.#ref = undefined;
    this.#lastExpiresAt = null;
    if (!ref || !instance) return;
    await this.#store.delete(ref);
    this.#events.emit('deregistered', { name: instance.name, id: instance.id });
  }

  /**
   * Stops the loop and deregisters; with `{ deregister: false }` waits for the write in flight and
   * leaves the record to expire after its ttl. Idempotent.
   */
  async close(keepRecord: boolean): Promise<void> {
    if (this.#closed) return;
    this.#loop.stop();
    if (keepRecord) {
      await this.#writes;
    } else {
      try {
        await this.deregister();
      } catch (error) {
        this.#options.logger.warn('deregister on close failed; the record expires with its ttl', {
          error: String(error),
        });
      }
    }
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new RegistryError('invalid-state', 'this registry is closed');
  }

  async #encode(instance: Instance, ref: RecordRef): Promise<string> {
    const value = await this.#options.codec.encode(
      serializeRecord(instance, this.#options.mode),
      recordKey(ref),
    );
    if (value.length > this.#options.maxRecordBytes) {
      throw new RegistryError(
        'record-too-large',
        `the encoded record is ${value.length} bytes; the limit is ${this.#options.maxRecordBytes} (maxRecordBytes)`,
      );
    }
    return value;
  }

  /** Writes the full record with a fresh expiry. Writes are chained, so they never overlap. */
  #write(): Promise<void> {
    const run = async () => {
      const instance = this.#instance;
      const ref = this.#ref;
      if (!instance || !ref) return;
      const { clock, ttlMs } = this.#options;
      const started = clock.now();
      const expiresAt = started + ttlMs;
      this.#health.lastAttemptAt = started;
      try {
        const value = await this.#encode({ ...instance, expiresAt }, ref);
        await this.#store.put(ref, value, ttlMs, { changed: this.#written !== instance });
      } catch (error) {
        this.#written = undefined;
        this.#recordFailure(error);
        throw error;
      }
      this.#written = instance;
      this.#lastExpiresAt = expiresAt;
      const failures = this.#health.consecutiveFailures;
      const failingSince = this.#health.failingSince;
      Object.assign(this.#health, {
        ok: true,
        lastRefreshAt: started,
        lastError: null,
        consecutiveFailures: 0,
        failingSince: null,
      });
      if (this.#events.has('refreshed')) {
        this.#events.emit('refreshed', {
          instance: this.get() as Instance,
          durationMs: clock.now() - started,
        });
      }
      if (failures > 0) {
        const current = this.get() as Instance;
        const downtimeMs = clock.now() - (failingSince ?? started);
        this.#options.logger.info('registry store reachable again; record rewritten', {
          failures,
          downtimeMs,
        });
        this.#events.emit('recovered', { instance: current, failures, downtimeMs });
      }
    };
    const next = this.#writes.then(run, run);
    this.#writes = next.catch(() => {});
    return next;
  }

  #recordFailure(error: unknown): void {
    const registryError =
      error instanceof RegistryError
        ? error
        : new RegistryError('store-unavailable', 'refresh failed', { cause: error });
    const health = this.#health;
    health.ok = false;
    health.lastError = registryError;
    health.consecutiveFailures++;
    health.failingSince ??= this.#options.clock.now();
    this.#options.logger.warn('registry refresh failed; retrying', {
      code: registryError.code,
      message: registryError.message,
      consecutiveFailures: health.consecutiveFailures,
    });
    this.#events.emit('refresh-failed', {
      error: registryError,
      consecutiveFailures: health.consecutiveFailures,
    });
  }
}

function assertStatus(status: unknown): asserts status is InstanceStatus {
  if (!INSTANCE_STATUSES.includes(status as InstanceStatus)) {
    throw new RegistryError(
      'invalid-argument',
      `status must be one of ${INSTANCE_STATUSES.join(', ')}, got ${describe(status)}`,
    );
  }
}
