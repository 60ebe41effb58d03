// Service snapshots (`RegistryOptions.snapshots`) through real registries on the memory store: a cold
// reader of a large service decrypts one sealed value instead of each record, and still reports only
// what the store lists, with the content and expiries a full decode would give, or earlier expiries.
import {
  gcmCodec,
  type Instance,
  type RecordCodec,
  type RecordRef,
  type RegistryOptions,
  type RegistryStore,
  ServiceRegistry,
  webCryptoBackend,
} from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemoryStore, memoryStore } from '../src/index.js';

const SECRET = 'snapshot-secret-8d2e4f6a1b3c5e7f';
const NOW = Date.parse('2026-12-03T12:00:00Z');
const SIZE = 80;
const NAMESPACE = 'reg';

const options = (store: RegistryStore, overrides: Partial<RegistryOptions> = {}): RegistryOptions => ({
  store,
  secret: SECRET,
  publicUrl: 'https://api.example.com',
  ttl: 30,
  interval: 10,
  ...overrides,
});
const ref = (service: string, index: number): RecordRef => ({
  namespace: NAMESPACE,
  service,
  instanceId: `i-${index}`,
});

/** A gcm codec that counts the records it decrypts. */
function countingCodec(codec: RecordCodec = gcmCodec(SECRET)): { codec: RecordCodec; decoded: () => number } {
  let decoded = 0;
  const decodeRecord = codec.decodeRecord?.bind(codec);
  const decodeRecordSync = codec.decodeRecordSync?.bind(codec);
  return {
    codec: {
      ...codec,
      decodeRecord: async (value, key) => {
        decoded++;
        return (decodeRecord as NonNullable<typeof decodeRecord>)(value, key);
      },
      decodeRecordSync: (value, key) => {
        const result = decodeRecordSync?.(value, key);
        if (result !== undefined) decoded++;
        return result;
      },
    },
    decoded: () => decoded,
  };
}

/** `size` registered instances of `service`, each with its own registry (no refresh timers). */
async function fleet(store: RegistryStore, service = 'main', size = SIZE): Promise<ServiceRegistry[]> {
  const writers = Array.from({ length: size }, () => new ServiceRegistry(options(store)));
  await Promise.all(
    writers.map((writer, index) =>
      writer.register(['account'], {
        serviceName: service,
        instanceId: `i-${index}`,
        port: 8000 + index,
        refresh: false,
      }),
    ),
  );
  return writers;
}

/** A cold reader's find, and what it decrypted; closing it finishes any snapshot it writes. */
async function coldFind(store: RegistryStore, service = 'main', overrides: Partial<RegistryOptions> = {}) {
  const { codec, decoded } = countingCodec(overrides.codec as RecordCodec | undefined);
  const written: number[] = [];
  const reader = new ServiceRegistry(options(store, { ...overrides, codec }));
  reader.on('snapshot', (event) => written.push(event.records));
  const result = await reader.find(service);
  await reader.close();
  return { result, decoded: decoded(), written };
}

const byId = (instances: readonly Instance[]) =>
  new Map(instances.map((instance) => [instance.id, instance]));
/** The expiry a record's value carries (the digits after its last `.`). */
async function storedExpiries(store: MemoryStore, service = 'main'): Promise<Map<string, number>> {
  const records = await store.list(NAMESPACE, service);
  return new Map(records.map((record) => [record.instanceId, Number(record.value.split('.').pop())]));
}

describe('service snapshots: a cold find decrypts one value', () => {
  let store: MemoryStore;
  let writers: ServiceRegistry[];
  beforeEach(async () => {
    vi.useFakeTimers({ now: NOW });
    store = memoryStore();
    writers = await fleet(store);
  });
  afterEach(async () => {
    await Promise.all(writers.map((writer) => writer.close({ deregister: false })));
    vi.useRealTimers();
  });

  it('the first cold reader writes it; the next one decrypts no record and finds the same', async () => {
    expect(await store.getSnapshot(NAMESPACE, 'main')).toBeNull();
    const first = await coldFind(store);
    expect(first.decoded).toBe(SIZE);
    expect(first.written).toEqual([SIZE]);
    const sealed = await store.getSnapshot(NAMESPACE, 'main');
    expect(sealed).toMatch(/^s1\./);
    // No plaintext in the store: no instance id, URL or port appears in the sealed value.
    expect(sealed).not.toContain('i-1');
    expect(sealed).not.toContain('api.example.com');

    const second = await coldFind(store);
    expect(second.decoded).toBe(0);
    expect(second.result).toEqual(first.result);
    // It served this find: no new one is written.
    expect(second.written).toEqual([]);
    expect(await store.getSnapshot(NAMESPACE, 'main')).toBe(sealed);
  });

  it('only what the store lists counts: removed records stay gone, changed ones are decoded', async () => {
    await coldFind(store);
    const removed = writers.splice(0, 3);
    await Promise.all(removed.map((writer) => writer.close()));
    await (writers[0] as ServiceRegistry).setStatus('draining');
    await (writers[1] as ServiceRegistry).setStatus('down');
    const { result, decoded } = await coldFind(store);
    expect(decoded).toBe(2);
    expect(result.instances.map((instance) => instance.id).sort()).toEqual(
      Array.from({ length: SIZE - 3 }, (_, index) => `i-${index + 3}`).sort(),
    );
    const found = byId(result.instances);
    expect(found.get('i-3')?.status).toBe('draining');
    expect(found.get('i-4')?.status).toBe('down');
  });

  it('after a routine refresh of every record: the snapshot expiry before its midpoint, the store one after', async () => {
    const { result: before } = await coldFind(store);
    const written = byId(before.instances);
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all(writers.map((writer) => writer.update()));
    const stored = await storedExpiries(store);
    const early = await coldFind(store);
    expect(early.decoded).toBe(0);
    for (const instance of early.result.instances) {
      // The expiry the snapshot's writer authenticated: never later than the store's.
      expect(instance.expiresAt).toBe(written.get(instance.id)?.expiresAt);
      expect(instance.expiresAt).toBeLessThan(stored.get(instance.id) as number);
    }
    // Past the midpoint of the snapshot's expiries (written at NOW, expiring at NOW + 30 s).
    await vi.advanceTimersByTimeAsync(11_000);
    await Promise.all(writers.map((writer) => writer.update()));
    const restored = await storedExpiries(store);
    const late = await coldFind(store);
    // Each refreshed value's MAC is checked, but nothing is decrypted.
    expect(late.decoded).toBe(0);
    expect(late.result.instances).toHaveLength(SIZE);
    for (const instance of late.result.instances) expect(instance.expiresAt).toBe(restored.get(instance.id));
    // A snapshot that left every expiry to be checked is replaced.
    expect(late.written).toEqual([SIZE]);
  });

  it('a forged later expiry is never reported, and is rejected past the midpoint', async () => {
    await coldFind(store);
    const target = ref('main', 7);
    const value = (await store.get(target)) as string;
    const forged = value.replace(/\.(\d+)$/, (_, digits: string) => `.${Number(digits) + 3_600_000}`);
    await store.put(target, forged, 3_600_000);
    const early = await coldFind(store);
    expect(byId(early.result.instances).get('i-7')?.expiresAt).toBe(NOW + 30_000);
    await vi.advanceTimersByTimeAsync(16_000);
    await Promise.all(writers.filter((_, index) => index !== 7).map((writer) => writer.update()));
    const late = await coldFind(store);
    expect(late.result.rejected).toBe(1);
    expect(byId(late.result.instances).has('i-7')).toBe(false);
  });

  it('an old snapshot put back gives no later expiry than the store holds', async () => {
    await coldFind(store);
    const old = (await store.getSnapshot(NAMESPACE, 'main')) as string;
    await vi.advanceTimersByTimeAsync(20_000);
    await Promise.all(writers.map((writer) => writer.update()));
    await coldFind(store);
    expect(await store.getSnapshot(NAMESPACE, 'main')).not.toBe(old);
    await store.putSnapshot(NAMESPACE, 'main', old, 60_000);
    const stored = await storedExpiries(store);
    const { result, decoded } = await coldFind(store);
    expect(decoded).toBe(0);
    expect(result.instances).toHaveLength(SIZE);
    for (const instance of result.instances) expect(instance.expiresAt).toBe(stored.get(instance.id));
  });

  it('a snapshot moved from another service, damaged, or sealed with another secret is ignored', async () => {
    const others = await fleet(store, 'other', 70);
    try {
      await coldFind(store);
      const sealed = (await store.getSnapshot(NAMESPACE, 'main')) as string;
      const middle = Math.floor(sealed.length / 2);
      const damaged = `${sealed.slice(0, middle)}${sealed[middle] === 'A' ? 'B' : 'A'}${sealed.slice(middle + 1)}`;
      const otherSecret = gcmCodec('another-secret-0a1b2c3d4e5f6a7b');
      for (const [label, value] of [
        ['moved', sealed],
        ['damaged', damaged],
      ] as const) {
        await store.putSnapshot(NAMESPACE, 'other', value, 60_000);
        const { result, decoded, written } = await coldFind(store, 'other');
        expect(decoded, label).toBe(70);
        expect(result.instances, label).toHaveLength(70);
        expect(
          result.instances.every((instance) => instance.name === 'other'),
          label,
        ).toBe(true);
        // The find replaced it with one of its own service.
        expect(written, label).toEqual([70]);
      }
      // Another cluster's secret opens nothing, and its readers neither read records nor the snapshot.
      const stranger = await coldFind(store, 'other', { codec: otherSecret });
      expect(stranger.result.instances).toHaveLength(0);
      expect(stranger.written).toEqual([]);
    } finally {
      await Promise.all(others.map((writer) => writer.close({ deregister: false })));
    }
  });

  it('a rotated secret still reads a snapshot sealed with the old one', async () => {
    await coldFind(store);
    const rotated = gcmCodec(['rotated-secret-1a2b3c4d5e6f7a8b', SECRET]);
    const { result, decoded } = await coldFind(store, 'main', { codec: rotated });
    expect(decoded).toBe(0);
    expect(result.instances).toHaveLength(SIZE);
  });

  it('Web Crypto readers use it too', async () => {
    await coldFind(store);
    const codec = gcmCodec(SECRET, { backend: webCryptoBackend });
    const { result, decoded } = await coldFind(store, 'main', { codec });
    expect(decoded).toBe(0);
    expect(result.instances).toHaveLength(SIZE);
  });

  it('snapshots: false neither reads nor writes one; a small service gets none', async () => {
    const getSnapshot = vi.spyOn(store, 'getSnapshot');
    const putSnapshot = vi.spyOn(store, 'putSnapshot');
    const off = await coldFind(store, 'main', { snapshots: false });
    expect(off.decoded).toBe(SIZE);
    expect(getSnapshot).not.toHaveBeenCalled();
    expect(putSnapshot).not.toHaveBeenCalled();
    const small = await fleet(store, 'small', 10);
    try {
      const { written } = await coldFind(store, 'small');
      expect(written).toEqual([]);
      expect(await store.getSnapshot(NAMESPACE, 'small')).toBeNull();
    } finally {
      await Promise.all(small.map((writer) => writer.close({ deregister: false })));
    }
  });

  it('a store whose snapshot calls fail still finds, and says why it wrote none', async () => {
    const failing: RegistryStore = {
      ...store,
      getSnapshot: async () => {
        throw new Error('snapshot read refused');
      },
      putSnapshot: async () => {
        throw new Error('snapshot write refused');
      },
    };
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (...line: unknown[]) => warnings.push(line) };
    const { result, decoded } = await coldFind(failing, 'main', { logger });
    expect(decoded).toBe(SIZE);
    expect(result.instances).toHaveLength(SIZE);
    expect(JSON.stringify(warnings)).toContain('snapshot write refused');
  });
});
