// The gcm `g2` format through real registries: a routine refresh rewrites the ciphertext unchanged and
// only the expiry beside it, which an HMAC binds to the format, key id, body and record key. Each test
// reads with a warm reader too, whose cache answers a known ciphertext by checking only the expiry's MAC.
import {
  gcmCodec,
  type Instance,
  type RecordCodec,
  type RecordRef,
  type RegistryOptions,
  ServiceRegistry,
} from '@service-registry/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MemoryStore, memoryStore } from '../src/index.js';

const SECRET = 'expiry-secret-5f1c9e0a7b3d4c2e';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const args = { serviceName: 'main', instanceId: 'i-1', port: 8080, refresh: false };
const ref: RecordRef = { namespace: 'reg', service: 'main', instanceId: 'i-1' };

const options = (store: MemoryStore, overrides: Partial<RegistryOptions> = {}): RegistryOptions => ({
  store,
  secret: SECRET,
  publicUrl: 'https://api.example.com',
  ttl: 30,
  interval: 10,
  ...overrides,
});
const ids = (result: { instances: readonly Instance[] }) =>
  result.instances.map((instance) => `${instance.name}:${instance.id}`);
/** `<body>` and `<mac>.<expiry>` of a g2 value. */
function split(value: string): { body: string; expiry: string } {
  const bodyEnd = value.indexOf('.', value.indexOf('.', 3) + 1);
  return { body: value.slice(0, bodyEnd), expiry: value.slice(bodyEnd + 1) };
}
const valueAt = async (store: MemoryStore, at: RecordRef = ref) =>
  (await store.list(at.namespace, at.service)).find((record) => record.instanceId === at.instanceId)
    ?.value as string;

/**
 * i-1 registered now and i-2 five seconds later, with i-1's value, i-2's, and two tamperings of i-1's:
 * i-2's later expiry field grafted onto i-1's body (the MAC names i-2's key and body), and i-1's expiry
 * pushed forward by hand with its MAC kept.
 */
async function twoRegistered(store: MemoryStore) {
  const one = new ServiceRegistry(options(store));
  const two = new ServiceRegistry(options(store));
  await one.register(['account'], args);
  await vi.advanceTimersByTimeAsync(5_000);
  await two.register(['account'], { ...args, instanceId: 'i-2' });
  const valueOne = await valueAt(store);
  const valueTwo = await valueAt(store, { ...ref, instanceId: 'i-2' });
  const grafted = `${split(valueOne).body}.${split(valueTwo).expiry}`;
  const forged = valueOne.replace(/\.(\d+)$/, (_, digits: string) => `.${Number(digits) + 3_600_000}`);
  return { one, valueOne, valueTwo, grafted, forged };
}

describe('gcm g2: the expiry beside a stable ciphertext', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a routine refresh keeps the ciphertext; a content change takes a new one; readers follow both', async () => {
    const store = memoryStore();
    const writer = new ServiceRegistry(options(store));
    await writer.register(['account'], args);
    // The reader counts its decryptions: a refreshed record must come from its cache.
    const gcm = gcmCodec(SECRET);
    let decoded = 0;
    const counting: RecordCodec = {
      ...gcm,
      decodeRecord: (value, key) => {
        decoded++;
        return (gcm.decodeRecord as NonNullable<RecordCodec['decodeRecord']>)(value, key);
      },
      decodeRecordSync: (value, key) => {
        decoded++;
        return gcm.decodeRecordSync?.(value, key);
      },
    };
    const reader = new ServiceRegistry(options(store, { codec: counting }));
    const first = await valueAt(store);
    expect(first.startsWith('g2.')).toBe(true);
    expect((await reader.find()).instances[0]?.expiresAt).toBe(NOW + 30_000);
    const decodedCold = decoded;
    expect(decodedCold).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(10_000);
    await writer.update();
    const refreshed = await valueAt(store);
    expect(split(refreshed).body).toBe(split(first).body);
    expect(refreshed).not.toBe(first);
    // `expiryCheck: 'halfway'`: before the midpoint of the expiry held (15 s), the refreshed value is
    // answered from the cache with that expiry, its MAC unchecked; from the midpoint, with its own.
    expect((await reader.find()).instances[0]?.expiresAt).toBe(NOW + 30_000);
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await reader.find()).instances[0]?.expiresAt).toBe(NOW + 40_000);
    expect(decoded).toBe(decodedCold);
    // `every-change` checks at once.
    const strict = new ServiceRegistry(options(store, { expiryCheck: 'every-change' }));
    await strict.find();
    await vi.advanceTimersByTimeAsync(1_000);
    await writer.update();
    expect((await strict.find()).instances[0]?.expiresAt).toBe(NOW + 46_000);
    await writer.setStatus('draining');
    const changed = await valueAt(store);
    expect(split(changed).body).not.toBe(split(first).body);
    expect((await reader.find()).instances[0]).toMatchObject({ status: 'draining', expiresAt: NOW + 46_000 });
  });

  it('a replayed old value still dies at its own expiry, for a warm reader and a cold one', async () => {
    const store = memoryStore();
    const writer = new ServiceRegistry(options(store));
    await writer.register(['account'], args);
    const reader = new ServiceRegistry(options(store));
    await reader.find();
    const captured = await valueAt(store);
    await vi.advanceTimersByTimeAsync(10_000);
    await writer.update();
    expect((await reader.find()).instances).toHaveLength(1);
    await writer.close();
    await vi.advanceTimersByTimeAsync(31_000);
    // The captured value (same ciphertext as the refreshed one, older expiry) put back with a long ttl.
    store.putRaw(ref, captured, 600_000);
    for (const finder of [reader, new ServiceRegistry(options(store))]) {
      const result = await finder.find();
      expect(result.instances).toEqual([]);
      expect(result.rejected).toBe(1);
    }
  });

  it('an expiry field moved onto another body, another key, or forged, fails for every reader (every-change)', async () => {
    const store = memoryStore();
    const { one, valueOne, valueTwo, grafted, forged } = await twoRegistered(store);
    const reader = new ServiceRegistry(options(store, { expiryCheck: 'every-change' }));
    expect(ids(await reader.find())).toEqual(['main:i-1', 'main:i-2']);
    // An older body of i-1 (before a content change) with the new body's expiry field.
    await one.setStatus('draining');
    const older = `${split(valueOne).body}.${split(await valueAt(store)).expiry}`;
    for (const bad of [grafted, forged, older]) {
      store.putRaw(ref, bad, 600_000);
      for (const finder of [reader, new ServiceRegistry(options(store))]) {
        const reasons: string[] = [];
        finder.on('rejected-record', (event) => reasons.push(event.reason));
        const result = await finder.find();
        expect(ids(result)).toEqual(['main:i-2']);
        expect(reasons[0]).toMatch(/expiry/);
      }
    }
    // The whole value of i-2 moved to i-1's key: the GCM additional data and the MAC both name i-2.
    store.putRaw(ref, valueTwo, 600_000);
    expect(ids(await reader.find())).toEqual(['main:i-2']);
    expect(ids(await new ServiceRegistry(options(store)).find())).toEqual(['main:i-2']);
  });

  it('changing any character of a refreshed value fails for a warm reader, never a new expiry (every-change)', async () => {
    const store = memoryStore();
    const writer = new ServiceRegistry(options(store));
    await writer.register(['account'], args);
    const reader = new ServiceRegistry(options(store, { expiryCheck: 'every-change' }));
    await reader.find();
    await writer.update();
    const value = await valueAt(store);
    expect((await reader.find()).instances).toHaveLength(1);
    for (let index = 0; index < value.length; index++) {
      const replacement = value[index] === 'A' ? 'B' : 'A';
      store.putRaw(ref, value.slice(0, index) + replacement + value.slice(index + 1), 600_000);
      const result = await reader.find();
      expect(result.instances).toEqual([]);
      expect(result.rejected).toBe(1);
    }
    store.putRaw(ref, value, 600_000);
    expect((await reader.find()).instances).toHaveLength(1);
  });

  it('halfway: a moved, forged or edited expiry is never reported, and is rejected from the midpoint on', async () => {
    const store = memoryStore();
    const { valueOne, grafted, forged } = await twoRegistered(store);
    const edited = Array.from(valueOne, (char, index) =>
      index < split(valueOne).body.length
        ? undefined
        : valueOne.slice(0, index) + (char === 'A' ? 'B' : 'A') + valueOne.slice(index + 1),
    ).filter((value): value is string => value !== undefined);
    // Read at 5 s with i-1's expiry at 30 s: its MAC is checked again from 17.5 s on.
    const reader = new ServiceRegistry(options(store));
    const meet = async (value: string) => {
      store.putRaw(ref, valueOne, 600_000);
      expect(ids(await reader.find())).toEqual(['main:i-1', 'main:i-2']);
      store.putRaw(ref, value, 600_000);
      return reader.find();
    };
    for (const bad of [grafted, forged, ...edited]) {
      const result = await meet(bad);
      const mine = result.instances.filter((instance) => instance.id === 'i-1');
      // A later claim on the same body is answered with the expiry authenticated before, unchecked.
      if (bad === grafted || bad === forged) expect(mine).toHaveLength(1);
      // Either rejected at once (an earlier or malformed claim) or the expiry authenticated before.
      expect(mine.map((instance) => instance.expiresAt)).toEqual(mine.length === 0 ? [] : [NOW + 30_000]);
    }
    // From the midpoint: a reader that authenticated i-1's expiry checks the next value it meets
    // (each reader is new, as one that authenticates again moves its own midpoint on).
    for (const bad of [grafted, forged, edited[0] as string, edited[21] as string]) {
      store.putRaw(ref, valueOne, 600_000);
      const late = new ServiceRegistry(options(store));
      await late.find();
      await vi.advanceTimersByTimeAsync(Math.ceil((NOW + 30_000 - Date.now()) / 2));
      store.putRaw(ref, bad, 600_000);
      const result = await late.find();
      expect(ids(result)).toEqual(['main:i-2']);
      expect(result.rejected).toBe(1);
    }
  });

  it('records of format g1 are still read, warm and cold', async () => {
    const store = memoryStore();
    const instance = {
      endpoints: ['account'],
      ipv4: null,
      port: 8080,
      public_url: 'https://api.example.com',
      created: '2026-11-26T12:00:00',
      status: 'up',
      meta: {},
      name: 'main',
      id: 'i-1',
      v: 1,
      expires_at: NOW + 30_000,
    };
    const value = await gcmCodec(SECRET).encode(JSON.stringify(instance), 'reg:main:i-1');
    expect(value.startsWith('g1.')).toBe(true);
    store.putRaw(ref, value, 600_000);
    const reader = new ServiceRegistry(options(store));
    for (let round = 0; round < 2; round++) {
      expect((await reader.find()).instances[0]?.expiresAt).toBe(NOW + 30_000);
    }
    await vi.advanceTimersByTimeAsync(31_000);
    expect((await reader.find()).instances).toEqual([]);
  });

  it("format 'g1' writes what older readers read, and new readers read both", async () => {
    const store = memoryStore();
    const writer = new ServiceRegistry(options(store, { codec: gcmCodec(SECRET, { format: 'g1' }) }));
    await writer.register(['account'], args);
    const first = await valueAt(store);
    expect(first.startsWith('g1.')).toBe(true);
    await writer.update();
    expect(split(await valueAt(store)).body).not.toBe(split(first).body);
    expect((await new ServiceRegistry(options(store)).find()).instances).toHaveLength(1);
    expect(() => gcmCodec(SECRET, { format: 'g3' as 'g1' })).toThrow(/format/);
  });
});
