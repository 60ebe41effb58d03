import {
  isRegistryError,
  type RecordRef,
  type RegistryEvents,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
} from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemoryStore, memoryStore } from '../src/index.js';

const SECRET = 'write-side-secret-0123456789';
const args = { serviceName: 'main', instanceId: 'i-1', port: 8080 } as const;

/** The memory store, with puts that can be delayed (a slow store) and counted. */
function slowStore(inner: MemoryStore) {
  const state = { putDelayMs: 0, puts: [] as number[], inFlight: 0, maxInFlight: 0 };
  const store: RegistryStore = {
    ...inner,
    name: 'slow-memory',
    async put(ref: RecordRef, value: string, ttlMs: number) {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      const startedAt = Date.now();
      try {
        if (state.putDelayMs) await new Promise((resolve) => setTimeout(resolve, state.putDelayMs));
        state.puts.push(startedAt);
        await inner.put(ref, value, ttlMs);
      } finally {
        state.inFlight--;
      }
    },
  };
  return { store, state };
}

describe('the write side', () => {
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
  const ids = async (registry: ServiceRegistry) =>
    (await registry.find()).instances.map((instance) => `${instance.id}:${instance.status}`);

  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-12-01T12:00:00Z') });
    memory = memoryStore();
  });
  afterEach(async () => {
    // Closing waits for writes a slow store still holds: let their timers run.
    const closing = Promise.allSettled(registries.splice(0).map((registry) => registry.close()));
    await vi.advanceTimersByTimeAsync(30_000);
    await closing;
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('hands out a frozen registration, and a refresh after setStatus writes the new status', async () => {
    const registry = make();
    const instance = await registry.register(['orders'], { ...args, meta: { zone: 'a' } });
    expect(Object.isFrozen(instance.meta)).toBe(true);
    expect(Object.isFrozen(instance.info)).toBe(true);
    expect(Object.isFrozen(instance.info.endpoints)).toBe(true);
    expect(() => {
      (instance.meta as Record<string, string>).zone = 'b';
    }).toThrow(TypeError);
    await registry.update();
    await registry.setStatus('down');
    await registry.update();
    const reader = make();
    expect((await reader.find('main')).instances.map((found) => [found.status, found.meta])).toEqual([
      ['down', { zone: 'a' }],
    ]);
  });

  describe('close() racing other calls', () => {
    it('register() and close() together: nothing is left and nothing refreshes', async () => {
      const { store, state } = slowStore(memory);
      const registry = make({ store });
      const registering = registry.register(['account'], args);
      const closing = registry.close();
      const outcome = await registering.catch((error: unknown) => error);
      await closing;
      expect(isRegistryError(outcome, 'invalid-state')).toBe(true);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(state.puts).toHaveLength(0);
      expect(await memory.list('reg')).toEqual([]);
      expect(registry.close()).toBe(closing);
    });

    it('close() while the first write is in flight removes what it wrote and stops the loop', async () => {
      const { store, state } = slowStore(memory);
      state.putDelayMs = 500;
      const registry = make({ store });
      const registering = registry.register(['account'], args).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(100);
      const closing = registry.close();
      await vi.advanceTimersByTimeAsync(1000);
      await closing;
      expect(isRegistryError(await registering, 'invalid-state')).toBe(true);
      const writes = state.puts.length;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(state.puts.length).toBe(writes);
      expect(await memory.list('reg')).toEqual([]);
      const updating = (async () => registry.update())();
      expect(isRegistryError(await updating.catch((error: unknown) => error), 'invalid-state')).toBe(true);
    });

    it('close({ deregister: false }) during setStatus(): no write after close, the record expires', async () => {
      const { store, state } = slowStore(memory);
      const registry = make({ store });
      await registry.register(['account'], args);
      const changing = registry.setStatus('draining').catch((error: unknown) => error);
      const closing = registry.close({ deregister: false });
      await vi.advanceTimersByTimeAsync(10);
      await closing;
      expect(isRegistryError(await changing, 'invalid-state')).toBe(true);
      const writes = state.puts.length;
      await vi.advanceTimersByTimeAsync(31_000);
      expect(state.puts.length).toBe(writes);
      expect(await memory.list('reg')).toEqual([]);
    });

    it('deregister() during register(): nothing stays registered', async () => {
      const { store, state } = slowStore(memory);
      state.putDelayMs = 200;
      const registry = make({ store });
      const registering = registry.register(['account'], args).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(50);
      const deregistering = registry.deregister();
      await vi.advanceTimersByTimeAsync(500);
      await deregistering;
      expect(isRegistryError(await registering, 'invalid-state')).toBe(true);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(await memory.list('reg')).toEqual([]);
      expect(registry.get()).toBeUndefined();
    });

    it('deregister() during update(): update() rejects invalid-state instead of resolving to nothing', async () => {
      const { store, state } = slowStore(memory);
      const registry = make({ store });
      await registry.register(['account'], args);
      state.putDelayMs = 200;
      const updating = registry.update().catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(50);
      const deregistering = registry.deregister();
      await vi.advanceTimersByTimeAsync(500);
      await deregistering;
      expect(isRegistryError(await updating, 'invalid-state')).toBe(true);
      expect(await memory.list('reg')).toEqual([]);
    });

    it('a watch() started while close() runs is stopped by it', async () => {
      const registry = make();
      const seen: number[] = [];
      const watching = registry.watch((result) => seen.push(result.instances.length), { pollInterval: 1 });
      await registry.close();
      await watching.catch(() => {});
      const calls = seen.length;
      // A join would reach a leaked watcher (by notice and by poll).
      await make().register(['account'], args);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(seen.length).toBe(calls);
    });
  });

  describe('a slow store', () => {
    it('schedules each refresh from the start of the last, so the period stays the interval', async () => {
      const { store, state } = slowStore(memory);
      state.putDelayMs = 600;
      const registry = make({ store, ttl: 3, interval: 1, jitter: 0 });
      const registering = registry.register(['account'], args);
      await vi.advanceTimersByTimeAsync(600);
      await registering;
      await vi.advanceTimersByTimeAsync(10_000);
      const gaps = state.puts.slice(1).map((at, index) => at - (state.puts[index] as number));
      // Chained from the end of the last write, the period was 1.6 s; from its start, 1 s.
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(1050);
      expect(state.maxInFlight).toBe(1);
    });

    it('gives up a write at the time its record has left, says so in health(), and never overlaps', async () => {
      const { store, state } = slowStore(memory);
      const registry = make({ store, ttl: 3, interval: 1, jitter: 0 });
      const failures: string[] = [];
      registry.on('refresh-failed', (event) => failures.push(event.error.message));
      await registry.register(['account'], args);
      expect(registry.health()).toMatchObject({ ok: true, atRisk: false, expiresInMs: 3000 });
      state.putDelayMs = 10_000;
      await vi.advanceTimersByTimeAsync(3500);
      expect(failures[0]).toMatch(/no answer to the refresh within \d+ ms, before the record expires/);
      const health = registry.health();
      expect(health).toMatchObject({ ok: false, atRisk: true, expiresInMs: 0 });
      expect(state.maxInFlight).toBe(1);
      state.putDelayMs = 0;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(registry.health()).toMatchObject({ ok: true, atRisk: false });
    });

    it('health() reports the risk when writes take most of the time the record has', async () => {
      const { store, state } = slowStore(memory);
      state.putDelayMs = 2200;
      const registry = make({ store, ttl: 3, interval: 1, jitter: 0 });
      const registering = registry.register(['account'], args);
      await vi.advanceTimersByTimeAsync(2200);
      await registering;
      const health = registry.health();
      expect(health.lastWriteMs).toBe(2200);
      expect(health.expiresInMs).toBe(800);
      expect(health.atRisk).toBe(true);
    });
  });

  describe('health-gated heartbeat', () => {
    it('a failing, throwing or hanging check rewrites the record as down at once; passing restores it', async () => {
      let verdict: 'pass' | 'fail' | 'throw' | 'hang' = 'pass';
      const healthCheck = () => {
        if (verdict === 'fail') return false;
        if (verdict === 'throw') throw new Error('database gone');
        if (verdict === 'hang') return new Promise<boolean>(() => {});
        return true;
      };
      const registry = make({ interval: 1, ttl: 3 });
      const observer = make();
      const events: string[] = [];
      registry.on('check-failed', (event) => events.push(`failed ${event.reason}`));
      registry.on('check-passed', (event) => events.push(`passed ${event.status}`));
      await registry.register(['account'], { ...args, status: 'draining', healthCheck, healthTimeout: 0.2 });
      expect(await ids(observer)).toEqual(['i-1:draining']);
      for (const failure of ['fail', 'throw', 'hang'] as const) {
        verdict = failure;
        await vi.advanceTimersByTimeAsync(1400);
        expect(await ids(observer)).toEqual(['i-1:down']);
        expect(registry.get()?.status).toBe('down');
        expect(registry.health().check).toMatchObject({ passing: false });
        verdict = 'pass';
        await vi.advanceTimersByTimeAsync(1400);
        expect(await ids(observer)).toEqual(['i-1:draining']);
      }
      expect(events).toEqual([
        'failed the check returned false',
        'passed draining',
        'failed the check threw: database gone',
        'passed draining',
        'failed no answer within 200 ms (healthTimeout)',
        'passed draining',
      ]);
      expect((await observer.find()).urlMap).toEqual({ account: 'https://api.example.com' });
    });

    it('a check that fails at register writes the first record as down', async () => {
      const registry = make();
      await registry.register(['account'], { ...args, healthCheck: async () => false });
      expect(await ids(make())).toEqual(['i-1:down']);
      expect(registry.health().check?.lastFailure).toBe('the check returned false');
    });

    it('bad health check options are invalid-argument', async () => {
      const registry = make();
      for (const bad of [{ healthCheck: 'yes' }, { healthCheck: () => true, healthTimeout: -1 }]) {
        const error = await registry
          .register(['a'], { ...args, ...(bad as object) })
          .catch((e: unknown) => e);
        expect(isRegistryError(error, 'invalid-argument')).toBe(true);
      }
    });
  });

  describe('duplicate registrations', () => {
    // The memory store compares inside its put; stores without that read back with `get`, else a listing.
    const checkedBy = (check: 'compare' | 'get' | 'list'): RegistryStore =>
      check === 'compare'
        ? memory
        : {
            ...memory,
            capabilities: { ...memory.capabilities, comparePrevious: false, get: check === 'get' },
          };

    for (const readBack of ['compare', 'get', 'list'] as const) {
      it(`two live processes with one service and instance id both report it within one interval (checked by ${readBack})`, async () => {
        const store = checkedBy(readBack);
        const first = make({ jitter: 0, store });
        const second = make({ jitter: 0, store });
        const seen: string[] = [];
        const listen = (label: string) => (event: RegistryEvents['duplicate']) =>
          seen.push(`${label} ${event.ended ? 'ended' : 'started'}`);
        first.on('duplicate', listen('first'));
        second.on('duplicate', listen('second'));
        const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
        await first.register(['account'], args);
        await vi.advanceTimersByTimeAsync(5000);
        await second.register(['account'], args);
        await vi.advanceTimersByTimeAsync(10_100);
        expect(seen.sort()).toEqual(['first started', 'second started']);
        expect(first.health().duplicate).toMatchObject({ detected: true });
        expect(second.health()).toMatchObject({ ok: false, duplicate: { detected: true } });
        expect(
          warn.mock.calls.some(([message]) =>
            String(message).includes('another live process registers main:i-1'),
          ),
        ).toBe(true);
        await first.close({ deregister: false });
        await vi.advanceTimersByTimeAsync(30_000);
        expect(seen).toContain('second ended');
        expect(second.health()).toMatchObject({ ok: true, duplicate: { detected: false } });
      });
    }

    it('costs one put per refresh: no read where the store compares, else one read per ttl at most', async () => {
      const counted = (check: 'compare' | 'get' | 'list') => {
        const inner = checkedBy(check);
        const calls: string[] = [];
        const store: RegistryStore = {
          ...inner,
          put: (ref, value, ttlMs, options) => {
            calls.push(options?.expectPrevious === undefined ? 'put' : 'put+compare');
            return inner.put(ref, value, ttlMs, options);
          },
          get: (ref) => {
            calls.push('get');
            return (inner.get as NonNullable<RegistryStore['get']>)(ref);
          },
          list: (namespace, service) => {
            calls.push(`list ${service ?? '*'}`);
            return inner.list(namespace, service);
          },
        };
        return { store, calls };
      };
      const runs: Record<string, string[]> = {};
      for (const check of ['compare', 'get', 'list'] as const) {
        memory = memoryStore();
        const { store, calls } = counted(check);
        const registry = make({ jitter: 0, store });
        await registry.register(['account'], args);
        // Six refreshes (ttl 30 s, interval 10 s).
        await vi.advanceTimersByTimeAsync(60_100);
        runs[check] = calls;
        await registry.close({ deregister: false });
      }
      const fallback = (read: string) => ['put', read, 'put', 'put', 'put', read, 'put', 'put', 'put'];
      expect(runs).toEqual({
        compare: ['put', ...Array(6).fill('put+compare')],
        get: fallback('get'),
        list: fallback('list main'),
      });
    });

    it('a restart with the same id (the old record still live, its writer dead) is no duplicate', async () => {
      const dead = make();
      await dead.register(['account'], args);
      await dead.close({ deregister: false });
      const restarted = make();
      const seen: unknown[] = [];
      restarted.on('duplicate', (event) => seen.push(event));
      await restarted.register(['account'], args);
      await vi.advanceTimersByTimeAsync(40_000);
      expect(seen).toEqual([]);
      expect(restarted.health().duplicate.detected).toBe(false);
    });
  });

  describe('clock skew', () => {
    it('a writer 60 s behind and a reader 60 s ahead still agree: expiry runs on the store clock', async () => {
      const shifted = (offsetMs: number) => ({
        now: () => Date.now() + offsetMs,
        setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
        clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      });
      const warnings: string[] = [];
      vi.spyOn(process, 'emitWarning').mockImplementation((message) => {
        warnings.push(String(message));
      });
      const writer = make({ clock: shifted(-60_000) });
      await writer.register(['account'], args);
      const reader = make({ clock: shifted(60_000) });
      expect(await ids(reader)).toEqual(['i-1:up']);
      expect(await ids(make())).toEqual(['i-1:up']);
      expect(writer.health().clock).toMatchObject({ offsetMs: 60_000, skewed: true, source: 'store' });
      expect(reader.health().clock).toMatchObject({ offsetMs: -60_000, skewed: true });
      expect(make().health().clock.skewed).toBe(false);
      expect(warnings.filter((line) => line.includes('clock is behind'))).toHaveLength(1);
      expect(warnings.filter((line) => line.includes('clock is ahead of'))).toHaveLength(1);
      // A stopped writer still expires on time, for every reader, and a replayed record stays dead.
      const [old] = await memory.list('reg', 'main');
      await writer.close({ deregister: false });
      await vi.advanceTimersByTimeAsync(31_000);
      expect(await ids(reader)).toEqual([]);
      await memory.put(old as RecordRef, old?.value as string, 60_000);
      expect(await ids(reader)).toEqual([]);
      expect(await ids(make({ clock: shifted(-60_000) }))).toEqual([]);
    });

    it('a discovery view on a clock 60 s ahead holds the instance and drops it at its real expiry', async () => {
      const shifted = (offsetMs: number) => ({
        now: () => Date.now() + offsetMs,
        setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
        clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      });
      vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
      const writer = make({ clock: shifted(-60_000) });
      await writer.register(['account'], args);
      const view = make({ clock: shifted(60_000) }).discovery();
      await view.ready;
      expect(view.instances('main').map((instance) => instance.id)).toEqual(['i-1']);
      // Still there after most of a ttl (a local deadline from the writer's expiry would have passed at once).
      await vi.advanceTimersByTimeAsync(25_000);
      expect(view.instances('main').map((instance) => instance.id)).toEqual(['i-1']);
      const removed: string[] = [];
      view.on('removed', ({ instance, reason }) => removed.push(`${instance.id}:${reason}`));
      await writer.close({ deregister: false });
      await vi.advanceTimersByTimeAsync(40_000);
      expect(view.instances('main')).toEqual([]);
      expect(removed).toEqual(['i-1:expired']);
    });

    it('without store time, the local clocks decide (and skew shows as a shorter or longer life)', async () => {
      memory = memoryStore({ time: false });
      const registry = make();
      await registry.register(['account'], args);
      expect(registry.health().clock).toMatchObject({ source: 'local', offsetMs: null, skewed: false });
    });
  });

  describe('an outage with no logger given', () => {
    it('warns once when it starts and once when it ends, and health() says why', async () => {
      const { store } = slowStore(memory);
      let down = false;
      const failing: RegistryStore = {
        ...store,
        put: (ref, value, ttlMs) =>
          down
            ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6399'))
            : store.put(ref, value, ttlMs),
      };
      const warnings: string[] = [];
      vi.spyOn(process, 'emitWarning').mockImplementation((message) => {
        warnings.push(String(message));
      });
      const registry = make({ store: failing });
      await registry.register(['account'], args);
      down = true;
      await vi.advanceTimersByTimeAsync(40_000);
      expect(registry.health().lastError?.message).toContain('ECONNREFUSED 127.0.0.1:6399');
      down = false;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(warnings.filter((line) => line.includes('refresh failed'))).toHaveLength(1);
      expect(warnings.filter((line) => line.includes('reachable again'))).toHaveLength(1);
    });
  });
});
