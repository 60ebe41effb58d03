import {
  isRegistryError,
  type Logger,
  type RecordRef,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
  systemClock,
} from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemoryStore, memoryStore } from '../src/index.js';

const SECRET = 'timer-test-secret-0123456789';

/** A memory store whose writes can be made to fail or hang, as a Redis outage would. */
function faultyStore(inner: MemoryStore) {
  const state = { down: false, putDelayMs: 0, puts: [] as number[], inFlight: 0, maxInFlight: 0 };
  const store: RegistryStore = {
    name: 'faulty-memory',
    capabilities: { watch: false, nativeExpiry: true },
    async put(ref: RecordRef, value: string, ttlMs: number) {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        if (state.putDelayMs) await new Promise((resolve) => setTimeout(resolve, state.putDelayMs));
        if (state.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
        state.puts.push(Date.now());
        await inner.put(ref, value, ttlMs);
      } finally {
        state.inFlight--;
      }
    },
    async delete(ref) {
      if (state.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
      await inner.delete(ref);
    },
    async list(namespace, service) {
      if (state.down) throw new Error('ECONNREFUSED 127.0.0.1:6379');
      return inner.list(namespace, service);
    },
    close: () => inner.close(),
  };
  return { store, state };
}

function capturingLogger() {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    };
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  return { logger, lines };
}

const registerArgs = { serviceName: 'main', instanceId: 'i-1', port: 8080 } as const;

describe('registry on the memory store, with fake timers', () => {
  let memory: MemoryStore;
  const registries: ServiceRegistry[] = [];
  const make = (options: Partial<RegistryOptions> = {}) => {
    const registry = new ServiceRegistry({
      store: memory,
      secret: SECRET,
      publicUrl: 'https://api.example.com',
      ttl: 30,
      interval: 10,
      ...options,
    });
    registries.push(registry);
    return registry;
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-11-26T12:00:00Z') });
    memory = memoryStore();
  });
  afterEach(async () => {
    await Promise.allSettled(registries.splice(0).map((registry) => registry.close()));
    vi.useRealTimers();
  });

  it('refreshes on a chained timer with about ±10% jitter', async () => {
    const { store, state } = faultyStore(memory);
    await make({ store }).register(['account'], registerArgs);
    await vi.advanceTimersByTimeAsync(200_000);
    const gaps = state.puts.slice(1).map((at, index) => at - (state.puts[index] as number));
    expect(gaps.length).toBeGreaterThanOrEqual(18);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(9000);
      expect(gap).toBeLessThanOrEqual(11_000);
    }
    expect(new Set(gaps).size).toBeGreaterThan(1);
  });

  it('never overlaps writes, even when the store is slower than the interval', async () => {
    const { store, state } = faultyStore(memory);
    state.putDelayMs = 2500;
    const registry = make({ store, ttl: 4, interval: 1 });
    const registering = registry.register(['account'], registerArgs);
    await vi.advanceTimersByTimeAsync(2500);
    await registering;
    // Both may miss their deadline (the record has 1.5 s left, the store takes 2.5 s): they reject.
    await Promise.all([
      registry.setStatus('draining').catch(() => {}),
      registry.update().catch(() => {}),
      vi.advanceTimersByTimeAsync(20_000),
    ]);
    expect(state.maxInFlight).toBe(1);
    expect(state.puts.length).toBeGreaterThan(5);
    state.putDelayMs = 0;
    await vi.advanceTimersByTimeAsync(5000);
  });

  it('survives an outage: refresh-failed with backoff, then recovered and rewritten', async () => {
    const { store, state } = faultyStore(memory);
    const registry = make({ store });
    const failures: number[] = [];
    const failedAt: number[] = [];
    const recovered: number[] = [];
    registry.on('refresh-failed', (event) => {
      failures.push(event.consecutiveFailures);
      failedAt.push(Date.now());
    });
    registry.on('recovered', (event) => recovered.push(event.failures));
    await registry.register(['account'], registerArgs);
    state.down = true;
    memory.clear();
    await vi.advanceTimersByTimeAsync(11_100);
    expect(failures[0]).toBe(1);
    expect(registry.health()).toMatchObject({ ok: false, registered: true });
    expect(registry.health().lastError?.code).toBe('store-unavailable');
    await vi.advanceTimersByTimeAsync(30_000);
    // Backoff doubles from 250 ms and is capped at half the interval (5 s), each ±10%.
    const gaps = failedAt.slice(1).map((at, index) => at - (failedAt[index] as number));
    const expected = [250, 500, 1000, 2000, 4000, 5000, 5000];
    expected.forEach((delay, index) => {
      expect(gaps[index]).toBeGreaterThanOrEqual(delay * 0.9);
      expect(gaps[index]).toBeLessThanOrEqual(delay * 1.1);
    });
    expect(failures).toEqual(failures.map((_, index) => index + 1));
    const retries = state.puts.length;
    expect(await registry.find().catch((error: unknown) => error)).toSatisfy((error: unknown) =>
      isRegistryError(error, 'store-unavailable'),
    );
    state.down = false;
    const backAt = Date.now();
    await vi.advanceTimersByTimeAsync(5500);
    expect(recovered).toHaveLength(1);
    expect(state.puts.length).toBe(retries + 1);
    expect((state.puts.at(-1) as number) - backAt).toBeLessThanOrEqual(5500);
    expect((await registry.find()).instances.map((instance) => instance.id)).toEqual(['i-1']);
    expect(registry.health()).toMatchObject({ ok: true, consecutiveFailures: 0, lastError: null });
  });

  it('registers while the store is down, and the record appears once it answers', async () => {
    const { store, state } = faultyStore(memory);
    state.down = true;
    const registry = make({ store });
    const registered: string[] = [];
    registry.on('registered', (event) => registered.push(event.instance.id));
    const instance = await registry.register(['account'], registerArgs);
    expect(instance.id).toBe('i-1');
    expect(registry.health().ok).toBe(false);
    state.down = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect((await registry.find()).instances).toHaveLength(1);
  });

  it('a flushed store heals within one interval', async () => {
    const registry = make();
    await registry.register(['account'], registerArgs);
    memory.clear();
    expect((await registry.find()).instances).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(11_000);
    expect((await registry.find()).instances).toHaveLength(1);
  });

  it('a stopped instance disappears after its ttl', async () => {
    await make().register(['account'], { ...registerArgs, refresh: false });
    const observer = make();
    await vi.advanceTimersByTimeAsync(29_000);
    expect((await observer.find()).instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_500);
    expect((await observer.find()).instances).toHaveLength(0);
  });

  it("enforces each record's own expiry where the store does not expire, and rejects replays", async () => {
    // A store that neither expires records nor tells time: the registries' clocks decide.
    const frozen = memoryStore({ clock: { now: () => 0 }, time: false });
    const writer = make({ store: frozen });
    await writer.register(['account'], { ...registerArgs, refresh: false });
    const [old] = await frozen.list('reg', 'main');
    await vi.advanceTimersByTimeAsync(31_000);
    const observer = make({ store: frozen });
    const result = await observer.find();
    expect(result.instances).toHaveLength(0);
    expect(result.rejected).toBe(1);
    await writer.update();
    await frozen.put(old as RecordRef, old?.value as string, 60_000);
    const replayed = await observer.find();
    expect(replayed.instances).toHaveLength(0);
    expect(replayed.rejected).toBe(1);
  });

  it('serverless use: refresh false starts no timer, update() writes once', async () => {
    const { store, state } = faultyStore(memory);
    const registry = make({ store });
    await registry.register(['account'], { ...registerArgs, refresh: false });
    expect(vi.getTimerCount()).toBe(0);
    await registry.update();
    expect(state.puts).toHaveLength(2);
    state.down = true;
    const error = await registry.update().catch((caught: unknown) => caught);
    expect(isRegistryError(error, 'store-unavailable')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('a throwing event listener breaks neither the caller nor the loop', async () => {
    const { logger, lines } = capturingLogger();
    const { store, state } = faultyStore(memory);
    const registry = make({ store, logger });
    registry.on('refreshed', () => {
      throw new Error('listener bug');
    });
    await registry.register(['account'], registerArgs);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(state.puts.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((line) => line.includes('listener threw'))).toBe(true);
  });

  it('never puts the secret or the plaintext record in logs, events or errors', async () => {
    const { logger, lines } = capturingLogger();
    const { store, state } = faultyStore(memory);
    const registry = make({ store, logger, secret: SECRET });
    const seen: unknown[] = [];
    for (const event of [
      'registered',
      'refreshed',
      'refresh-failed',
      'recovered',
      'rejected-record',
    ] as const) {
      registry.on(event, (payload) => seen.push(payload));
    }
    await registry.register(['account'], { ...registerArgs, meta: { marker: 'plaintext-marker' } });
    state.down = true;
    await vi.advanceTimersByTimeAsync(12_000);
    state.down = false;
    await vi.advanceTimersByTimeAsync(12_000);
    await memory.put({ namespace: 'reg', service: 'main', instanceId: 'bad' }, 'garbage', 10_000);
    await registry.find();
    const errors = seen.map((payload) => (payload as { error?: Error }).error).filter(Boolean) as Error[];
    const text = [
      ...lines,
      ...errors.map((error) => `${error.message} ${String(error.cause)}`),
      JSON.stringify(seen.map((payload) => ({ ...(payload as object), error: undefined }))),
    ].join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(text).not.toContain(SECRET);
    expect(lines.join('\n')).not.toContain('plaintext-marker');
    expect(errors.join('\n')).not.toContain('plaintext-marker');
  });

  it('timers are unref’d so a registry never keeps a process alive', () => {
    vi.useRealTimers();
    const handle = systemClock.setTimeout(() => {}, 60_000) as { hasRef(): boolean };
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimeout(handle);
  });
});
