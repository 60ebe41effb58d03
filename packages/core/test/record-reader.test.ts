import { describe, expect, it } from 'vitest';
import { gcmCodec } from '../src/codec/gcm.js';
import { RecordReader } from '../src/read/record-reader.js';
import { type Instance, recordKey, serializeRecord } from '../src/record.js';
import type { StoredRecord } from '../src/store.js';

const codec = gcmCodec('correct horse battery staple');
const expiresAt = Date.UTC(2030, 0, 1);

function instance(service: string, id: string): Instance {
  return {
    name: service,
    id,
    status: 'up',
    meta: {},
    expiresAt: null,
    info: {
      endpoints: ['orders'],
      ipv4: '10.0.0.1',
      port: 8080,
      publicUrl: 'https://x',
      created: '2026-12-02T00:00:00',
    },
  };
}

async function stored(service: string, id: string, expiry = expiresAt): Promise<StoredRecord> {
  const ref = { namespace: 'reg', service, instanceId: id };
  const value = await codec.encodeRecord?.(serializeRecord(instance(service, id)), expiry, recordKey(ref));
  return { ...ref, value: value as string };
}

/** One `find`: a pass over a complete listing of `service` (every service when undefined). */
async function pass(reader: RecordReader, records: StoredRecord[], service?: string): Promise<Instance[]> {
  const mark = reader.beginPass();
  const out: Instance[] = [];
  for (const record of records) {
    const outcome = await reader.read(record);
    if (!('reason' in outcome)) out.push(outcome);
  }
  reader.endPass(mark, service);
  return out;
}

describe('RecordReader passes', () => {
  it('drops the cached records of a service that its next complete listing lacks', async () => {
    const reader = new RecordReader(codec, 65_536);
    const orders = await Promise.all(['a', 'b', 'c'].map((id) => stored('orders', id)));
    const users = await Promise.all(['a', 'b'].map((id) => stored('users', id)));
    await pass(reader, orders, 'orders');
    await pass(reader, users, 'users');
    expect(reader.size).toBe(5);
    // `b` left orders: a listing of orders alone forgets it and keeps every users entry.
    expect(await pass(reader, [orders[0], orders[2]] as StoredRecord[], 'orders')).toHaveLength(2);
    expect(reader.size).toBe(4);
    // A listing of every service forgets a whole service that is gone.
    await pass(reader, [orders[0], orders[2]] as StoredRecord[]);
    expect(reader.size).toBe(2);
  });

  it('keeps what a pass that began later met, and refreshed values stay cached', async () => {
    const reader = new RecordReader(codec, 65_536);
    const [a, b] = await Promise.all([stored('orders', 'a'), stored('orders', 'b')]);
    await pass(reader, [a, b] as StoredRecord[], 'orders');
    const first = reader.beginPass();
    const second = reader.beginPass();
    // The second pass met `b` only (refreshed: same body, a new expiry), the first saw nothing yet.
    const refreshed = await stored('orders', 'b', expiresAt + 1000);
    expect(reader.readKnown(refreshed)).toMatchObject({
      id: 'b',
      expiresAt: expiresAt + 1000,
    });
    reader.endPass(first, 'orders');
    expect(reader.size).toBe(1);
    reader.endPass(second, 'orders');
    expect(reader.size).toBe(1);
  });

  it('reports the expiry of the value it reads: refreshed, met again, then an older value replayed', async () => {
    const reader = new RecordReader(codec, 65_536);
    const original = await stored('orders', 'a');
    await pass(reader, [original], 'orders');
    const refreshed = await stored('orders', 'a', expiresAt + 60_000);
    const first = reader.readKnown(refreshed) as Instance;
    expect(first.expiresAt).toBe(expiresAt + 60_000);
    // The same refreshed value again: the same instance, not a new one.
    expect(reader.readKnown({ ...refreshed, value: `${refreshed.value}` })).toBe(first);
    // Someone writes the original back: it carries its own, older expiry, not the refreshed one.
    expect((reader.readKnown(original) as Instance).expiresAt).toBe(expiresAt);
    expect((reader.readKnown(refreshed) as Instance).expiresAt).toBe(expiresAt + 60_000);
    // A forged expiry field on the refreshed body is no cache hit: the full decode rejects it.
    const [format, keyId, payload, mac] = refreshed.value.split('.');
    const forged = { ...refreshed, value: `${format}.${keyId}.${payload}.${mac}.${expiresAt + 120_000}` };
    expect(reader.readKnown(forged)).toBeUndefined();
    expect(await reader.read(forged)).toMatchObject({
      reason: expect.stringMatching(/authentication of its expiry/),
    });
  });

  it('keeps a key that does not split into names apart from the instance of the same service and id', async () => {
    const reader = new RecordReader(codec, 65_536);
    const record = await stored('orders', 'a');
    const odd = { ...record, key: 'reg:orders:a:extra' };
    expect(await reader.read(record)).toMatchObject({ id: 'a' });
    expect(await reader.read(odd)).toMatchObject({ firstSeen: true, reason: expect.stringMatching(/key/) });
    expect(reader.readKnown(odd)).toMatchObject({ firstSeen: false });
    expect(reader.readKnown(record)).toMatchObject({ id: 'a' });
    expect(reader.size).toBe(2);
  });

  describe("given the read's clock: the MAC of a refreshed value is checked once the expiry held is half spent", () => {
    // Authenticated at `start` with an expiry 30 s on: checked again from 15 s on.
    const start = expiresAt - 30_000;
    const midpoint = start + 15_000;

    async function warmed(): Promise<{ reader: RecordReader; original: StoredRecord }> {
      const reader = new RecordReader(codec, 65_536);
      const original = await stored('orders', 'a');
      expect(await reader.read(original, start)).toMatchObject({ expiresAt });
      return { reader, original };
    }
    const forge = (value: string, expiry: number) => value.replace(/\.\d+$/, `.${expiry}`);

    it('before the midpoint a routine refresh answers the cached instance with the expiry held', async () => {
      const { reader, original } = await warmed();
      const held = reader.readKnown(original, start) as Instance;
      const refreshed = await stored('orders', 'a', expiresAt + 10_000);
      expect(reader.readKnown(refreshed, start + 10_000)).toBe(held);
      // Met again unchanged, still before the midpoint: the same answer.
      expect(reader.readKnown(refreshed, midpoint - 1)).toBe(held);
      // From the midpoint the value taken unchecked is checked, and its own expiry taken.
      expect((reader.readKnown(refreshed, midpoint) as Instance).expiresAt).toBe(expiresAt + 10_000);
    });

    it('a forged later expiry is never reported, and the first read past the midpoint rejects it', async () => {
      const { reader, original } = await warmed();
      const forged = { ...original, value: forge(original.value, expiresAt + 3_600_000) };
      expect((reader.readKnown(forged, start + 1) as Instance).expiresAt).toBe(expiresAt);
      expect(reader.readKnown(forged, midpoint)).toBeUndefined();
      expect(await reader.read(forged, midpoint)).toMatchObject({
        reason: expect.stringMatching(/authentication of its expiry/),
      });
    });

    it('an older value put back claims an earlier expiry: checked at once, it carries its own', async () => {
      const { reader, original } = await warmed();
      const refreshed = await stored('orders', 'a', expiresAt + 10_000);
      // Authenticated after the midpoint: the refreshed expiry is held, with a later midpoint.
      expect((reader.readKnown(refreshed, midpoint) as Instance).expiresAt).toBe(expiresAt + 10_000);
      expect((reader.readKnown(original, midpoint + 1) as Instance).expiresAt).toBe(expiresAt);
      // A forged earlier expiry is checked at once too.
      const earlier = { ...original, value: forge(original.value, expiresAt - 1) };
      expect(reader.readKnown(earlier, midpoint + 1)).toBeUndefined();
    });

    it('a changed ciphertext or a malformed expiry field is no cache hit', async () => {
      const { reader, original } = await warmed();
      // Another codec object encrypts the same content afresh: a new IV, so another ciphertext.
      const content = serializeRecord(instance('orders', 'a'));
      const value = await gcmCodec('correct horse battery staple').encodeRecord?.(
        content,
        expiresAt + 1,
        recordKey(original),
      );
      expect(reader.readKnown({ ...original, value: value as string }, start + 1)).toBeUndefined();
      const { value: held } = original;
      for (const bad of [`${held}x`, held.replace(/\.\d+$/, '.0123'), held.replace(/\.\d+$/, '')]) {
        expect(reader.readKnown({ ...original, value: bad }, start + 1)).toBeUndefined();
      }
    });
  });
});
