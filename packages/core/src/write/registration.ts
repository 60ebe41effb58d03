import { RegistryError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { GuardedStore } from '../guarded-store.js';
import type { RegisterOptions, ResolvedOptions } from '../options.js';
import { type Instance, type InstanceStatus, recordKey, serializeRecord } from '../record.js';
import type { PutResult, RecordRef } from '../store.js';
import type { StoreTime } from '../store-time.js';
import { withDeadline, writeDeadlineMs } from './deadline.js';
import { DuplicateDetector, type DuplicateEvent, previousOf, valueAt } from './duplicates.js';
import { HealthGate } from './health-gate.js';
import { RefreshLoop } from './refresh-loop.js';
import { assertStatus, readRegisterOptions } from './register-options.js';
import { deriveHealth, type RegistrationHealth, WriteHealth } from './write-health.js';

export type { RegistrationHealth } from './write-health.js';

/** Events of the write side: what happened to this instance's own record. */
export interface WriteEvents {
  registered: { instance: Instance };
  refreshed: { instance: Instance; durationMs: number };
  'refresh-failed': { error: RegistryError; consecutiveFailures: number };
  recovered: { instance: Instance; failures: number; downtimeMs: number };
  deregistered: { name: string; id: string };
  /** The health check failed, threw or timed out: the record was rewritten as `down`. */
  'check-failed': { reason: string; consecutiveFailures: number };
  /** The health check passes again: the record was rewritten with the registered status. */
  'check-passed': { status: InstanceStatus };
  /** Another live process writes this service and instance id (`ended: true` once it stopped). */
  duplicate: DuplicateEvent;
}

/**
 * The write side: this instance's one record. `register` writes it and starts the refresh loop;
 * `update`, `setStatus` and `deregister` change it. Writes are chained, so they never overlap. Once
 * `close()` began nothing writes again: a `register()` or `setStatus()` still running rejects.
 */
export class Registration {
  readonly #options: ResolvedOptions;
  readonly #store: GuardedStore;
  readonly #time: StoreTime;
  readonly #events: EventSink<WriteEvents>;
  readonly #loop: RefreshLoop;
  readonly #health: WriteHealth;
  readonly #duplicates: DuplicateDetector;
  #gate: HealthGate | undefined;
  #detectDuplicates = false;
  /** The registration as asked for; the record says `down` instead while the health check fails. */
  #instance: Instance | undefined;
  #ref: RecordRef | undefined;
  /** `recordKey(#ref)`, built once: the codec binds every write to it. */
  #recordKey = '';
  #writes: Promise<unknown> = Promise.resolve();
  /** A put given up at its deadline: the next write waits for it, so puts never overlap. */
  #straggler: Promise<unknown> = Promise.resolve();
  /** What the last successful write stored: a refresh of the same content is `changed: false`. */
  #writtenContent: string | undefined;
  #writtenValue: string | undefined;
  #serialized:
    | (Pick<Instance, 'name' | 'id' | 'info' | 'meta' | 'status'> & {
        readonly owner: string | undefined;
        readonly text: string;
      })
    | undefined;
  /** `expires_at` of the last write that reached the store, in store time. */
  #lastExpiresAt: number | null = null;
  /** Moves on every deregister and close: a register or setStatus that awaited across one gives up. */
  #generation = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #deregistering: Promise<void> = Promise.resolve();

  constructor(
    options: ResolvedOptions,
    store: GuardedStore,
    time: StoreTime,
    events: EventSink<WriteEvents>,
  ) {
    this.#options = options;
    this.#store = store;
    this.#time = time;
    this.#events = events;
    this.#health = new WriteHealth(options.clock, options.logger, events);
    this.#duplicates = new DuplicateDetector(options.codec);
    this.#loop = new RefreshLoop({
      clock: options.clock,
      intervalMs: options.intervalMs,
      jitter: options.jitter,
      refresh: () => this.#tick(),
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
    const generation = this.#generation;
    const { instance, refresh, healthCheck, healthTimeoutMs, detectDuplicates } = readRegisterOptions(
      endpoints,
      options,
      this.#options,
    );
    const ref: RecordRef = {
      namespace: this.#options.namespace,
      service: instance.name,
      instanceId: instance.id,
    };
    // Encoding once here turns an oversized record into an error for the caller, not for the loop. With
    // its expiry, as every write has: without it a record a few bytes under the limit passed here and
    // then failed every refresh.
    await this.#encode({ ...instance, expiresAt: this.#options.clock.now() + this.#options.ttlMs }, ref);
    await this.#time.refresh();
    const gate = healthCheck && new HealthGate(healthCheck, healthTimeoutMs, this.#options.clock);
    if (gate) await gate.run();
    this.#assertCurrent(generation, 'register()');
    this.#instance = instance;
    this.#ref = ref;
    this.#recordKey = recordKey(ref);
    this.#gate = gate;
    this.#detectDuplicates = detectDuplicates;
    let ok = true;
    const writeStartedAt = this.#options.clock.now();
    try {
      await this.#write();
    } catch {
      ok = false;
    }
    // close() or deregister() ran meanwhile: it removed (or kept) what was written; no loop starts.
    this.#assertCurrent(generation, 'register()');
    if (ok) this.#events.emit('registered', { instance: this.get() as Instance });
    if (gate && !gate.state.passing) this.#reportCheck(gate);
    if (refresh) this.#loop.start(ok, this.#options.clock.now() - writeStartedAt);
    return this.get() as Instance;
  }

  /** The local registration (what this instance writes), or undefined before `register()`. */
  get(): Instance | undefined {
    const instance = this.#instance;
    return (
      instance && { ...instance, status: this.#effectiveStatus(instance), expiresAt: this.#lastExpiresAt }
    );
  }

  /** Refreshes the record once. Serverless functions call it per invocation; long-lived processes never need to. */
  async update(): Promise<Instance> {
    this.#assertOpen();
    if (!this.#instance) throw new RegistryError('invalid-state', 'update() needs register() first');
    const generation = this.#generation;
    if (this.#gate) {
      await this.#runCheck();
      this.#assertCurrent(generation, 'update()');
    }
    await this.#write();
    // A deregister() or close() meanwhile left nothing to return.
    this.#assertCurrent(generation, 'update()');
    return this.get() as Instance;
  }

  /** Changes this instance's status and rewrites the record at once. */
  async setStatus(status: InstanceStatus): Promise<Instance> {
    this.#assertOpen();
    assertStatus(status);
    const current = this.#instance;
    if (!current || !this.#ref)
      throw new RegistryError('invalid-state', 'setStatus() needs register() first');
    const generation = this.#generation;
    // A longer status can push a record at the size limit over it: refuse it here, before the loop keeps it.
    await this.#encode(
      { ...current, status, expiresAt: this.#options.clock.now() + this.#options.ttlMs },
      this.#ref,
    );
    this.#assertCurrent(generation, 'setStatus()');
    this.#instance = { ...(this.#instance as Instance), status };
    await this.#write();
    return this.get() as Instance;
  }

  /** Whether this instance's record is being kept alive, and what threatens it. */
  health(): RegistrationHealth {
    const storeNow = this.#time.now();
    return deriveHealth({
      counters: this.#health.counters,
      registered: this.#instance !== undefined,
      expiresAtStore: this.#lastExpiresAt,
      storeOffsetMs: storeNow - this.#options.clock.now(),
      storeNow,
      nextRefreshAt: this.#loop.nextAt,
      check: this.#gate?.state ?? null,
      duplicate: this.#duplicates.state,
    });
  }

  /** Stops the refresh loop and removes the record now. Throws `store-unavailable` if the delete fails. */
  deregister(): Promise<void> {
    this.#generation++;
    this.#loop.stop();
    const ref = this.#ref;
    const instance = this.#instance;
    // Cleared at once, so writes queued behind the one in flight find nothing to write.
    this.#instance = undefined;
    this.#ref = undefined;
    this.#gate = undefined;
    this.#lastExpiresAt = null;
    this.#writtenContent = undefined;
    this.#writtenValue = undefined;
    const previous = this.#deregistering;
    const run = async (): Promise<void> => {
      await previous.catch(() => {});
      // The write in flight lands first; the delete then removes it.
      await this.#writes.catch(() => {});
      await this.#straggler;
      if (!ref || !instance) return;
      await this.#store.delete(ref);
      this.#events.emit('deregistered', { name: instance.name, id: instance.id });
    };
    const running = run();
    this.#deregistering = running.catch(() => {});
    return running;
  }

  /**
   * Stops the loop and deregisters; with `{ deregister: false }` waits for the write in flight and
   * leaves the record to expire after its ttl. Idempotent: a second call returns the first's promise.
   */
  close(keepRecord: boolean): Promise<void> {
    this.#closed ??= this.#close(keepRecord);
    return this.#closed;
  }

  async #close(keepRecord: boolean): Promise<void> {
    this.#closing = true;
    this.#generation++;
    this.#loop.stop();
    if (keepRecord) {
      await this.#writes.catch(() => {});
      await this.#deregistering;
      return;
    }
    try {
      await this.deregister();
    } catch (error) {
      this.#options.logger.warn('deregister on close failed; the record expires with its ttl', {
        error: String(error),
      });
    }
  }

  #assertOpen(): void {
    if (this.#closing) throw new RegistryError('invalid-state', 'this registry is closed');
  }

  #assertCurrent(generation: number, call: string): void {
    if (this.#generation === generation) return;
    throw new RegistryError(
      'invalid-state',
      `${this.#closing ? 'close()' : 'deregister()'} was called while ${call} ran; nothing more is written`,
    );
  }

  #effectiveStatus(instance: Instance): InstanceStatus {
    return this.#gate && !this.#gate.state.passing ? 'down' : instance.status;
  }

  /** One tick of the loop: the health check, then the write (which must never reject here). */
  async #tick(): Promise<boolean> {
    await this.#runCheck();
    return this.#write(this.#detectDuplicates, true).then(
      () => true,
      () => false,
    );
  }

  async #runCheck(): Promise<void> {
    const gate = this.#gate;
    if (!gate) return;
    if (await gate.run()) this.#reportCheck(gate);
  }

  #reportCheck(gate: HealthGate): void {
    const { passing, lastFailure, consecutiveFailures } = gate.state;
    const instance = this.#instance;
    if (!instance) return;
    if (passing) {
      this.#options.logger.info('health check passes again; record rewritten', { status: instance.status });
      this.#events.emit('check-passed', { status: instance.status });
    } else {
      const reason = lastFailure ?? 'failed';
      this.#options.logger.warn('health check failed; record rewritten as down', { reason });
      this.#events.emit('check-failed', { reason, consecutiveFailures });
    }
  }

  /**
   * The record without its expiry, serialized: a routine refresh writes the same one (name, id,
   * status, owner and the frozen info and meta of the registration are compared by identity).
   */
  #content(instance: Instance, owner: string | undefined): string {
    const last = this.#serialized;
    if (
      last !== undefined &&
      last.info === instance.info &&
      last.meta === instance.meta &&
      last.status === instance.status &&
      last.name === instance.name &&
      last.id === instance.id &&
      last.owner === owner
    ) {
      return last.text;
    }
    const { name, id, info, meta, status } = instance;
    const text = serializeRecord({ ...instance, expiresAt: null }, 'native', owner);
    this.#serialized = { name, id, info, meta, status, owner, text };
    return text;
  }

  /** The owner token a native record carries (duplicate detection); apicrud records carry none. */
  #owner(): string | undefined {
    return this.#options.mode === 'native' ? this.#duplicates.owner : undefined;
  }

  async #encode(instance: Instance, ref: RecordRef): Promise<string> {
    const { codec, mode, maxRecordBytes } = this.#options;
    const owner = this.#owner();
    const key = ref === this.#ref ? this.#recordKey : recordKey(ref);
    // Native records go through `encodeRecord` when the codec has it: the expiry beside the
    // ciphertext, so a routine refresh leaves the ciphertext, and readers' caches, as they were.
    const value =
      mode === 'native' && codec.encodeRecord && instance.expiresAt !== null
        ? await codec.encodeRecord(this.#content(instance, owner), instance.expiresAt, key)
        : await codec.encode(serializeRecord(instance, mode, owner), key);
    if (value.length > maxRecordBytes) {
      throw new RegistryError(
        'record-too-large',
        `the encoded record is ${value.length} bytes; the limit is ${maxRecordBytes} (maxRecordBytes)`,
      );
    }
    return value;
  }

  /**
   * Writes the full record with a fresh expiry. Chained, so writes never overlap; none after close.
   * `verify`: check the key for another writer (duplicates). `deadline`: the loop's refreshes give up
   * at the time the record has left; explicit calls (`register`, `update`, `setStatus`) wait for the
   * store's answer, so when they resolve the record is there.
   */
  #write(verify = false, deadline = false): Promise<void> {
    if (this.#closing) return Promise.reject(new RegistryError('invalid-state', 'this registry is closed'));
    const run = async () => {
      await this.#straggler;
      const instance = this.get();
      const ref = this.#ref;
      if (!instance || !ref) return;
      const { ttlMs, clock } = this.#options;
      const lastWritten = this.#writtenValue;
      // Stores that compare inside the put: no read at all. Others read back at most once per ttl: a
      // listing before the write, or a `get` sent beside the put.
      const check = verify ? this.#duplicates.plan(this.#store, lastWritten, clock.now(), ttlMs) : undefined;
      let readBack: Promise<string | null | undefined> | undefined;
      if (check === 'list') {
        readBack = this.#store.list(ref.namespace, ref.service).then((records) => valueAt(records, ref));
        await readBack.catch(() => {});
      }
      void this.#time.refresh();
      const expiresAt = this.#time.now() + ttlMs;
      const startedAt = this.#health.attempt();
      // What decides `changed`: the serialized record without its expiry, rebuilt only when a field
      // changed (compared by identity), so a routine refresh does not serialize anything.
      const content = this.#content(instance, this.#owner());
      let value: string | undefined;
      try {
        value = await this.#encode({ ...instance, expiresAt }, ref);
        if (check === 'get' && this.#store.get) readBack = this.#store.get(ref);
        readBack?.catch(() => {});
        const expectPrevious = typeof check === 'object' ? check.compare : undefined;
        const result = await this.#putWithDeadline(ref, value, expiresAt, content, deadline, expectPrevious);
        if (expectPrevious !== undefined) readBack = Promise.resolve(previousOf(result));
      } catch (error) {
        this.#writtenContent = undefined;
        this.#health.failed(error);
        throw error;
      } finally {
        if (readBack) await this.#checkDuplicates(readBack, ref, lastWritten, value ?? '');
      }
      this.#landed(value, content, expiresAt);
      this.#health.succeeded(startedAt, () => this.get() as Instance);
    };
    const next = this.#writes.then(run, run);
    this.#writes = next.catch(() => {});
    return next;
  }

  /** One put with its deadline; the next write waits for it (`#straggler`), so puts never overlap. */
  async #putWithDeadline(
    ref: RecordRef,
    value: string,
    expiresAt: number,
    content: string,
    deadline: boolean,
    expectPrevious: string | undefined,
  ): Promise<PutResult | undefined> {
    const { clock, ttlMs } = this.#options;
    const liveForMs = this.#lastExpiresAt === null ? 0 : this.#lastExpiresAt - this.#time.now();
    const changed = this.#writtenContent !== content;
    const put = this.#store.put(ref, value, ttlMs, { changed, expectPrevious });
    this.#straggler = put.catch(() => {});
    if (!deadline) return put;
    return withDeadline(put, writeDeadlineMs(liveForMs, ttlMs), clock, this.#store.name, () =>
      this.#landed(value, content, expiresAt),
    );
  }

  /** A write reached the store (in time, or late after its deadline). */
  #landed(value: string, content: string, expiresAt: number): void {
    if (this.#instance === undefined) return;
    this.#writtenContent = content;
    this.#writtenValue = value;
    if (this.#lastExpiresAt === null || expiresAt > this.#lastExpiresAt) this.#lastExpiresAt = expiresAt;
  }

  /**
   * Judges this instance's key as read back at a refresh: a value neither written by this process last
   * nor empty was written by another live process with the same service and instance id.
   */
  async #checkDuplicates(
    readBack: Promise<string | null | undefined>,
    ref: RecordRef,
    lastWritten: string | undefined,
    writing: string,
  ): Promise<void> {
    let verdict: 'started' | 'ended' | undefined;
    try {
      const stored = await readBack;
      if (stored === undefined) return; // The store gave no answer to compare (a wrapper dropped it).
      verdict = await this.#duplicates.judge(stored, ref, lastWritten, writing, this.#options.clock.now());
    } catch {
      return; // The write that follows meets the same fault and reports it.
    }
    if (verdict !== undefined) this.#duplicates.report(verdict, ref, this.#options.logger, this.#events);
  }
}
