// The gcm codec's service snapshots and the bodies it restores for them (see read/snapshot.ts).
import { describe, expect, it } from 'vitest';
import { gcmCodec } from '../src/codec/gcm.js';
import { nodeCryptoBackend } from '../src/crypto/node.js';
import { webCryptoBackend } from '../src/crypto/web.js';
import { RegistryError } from '../src/errors.js';
import { parseSnapshot, type SnapshotEntry, serializeSnapshot } from '../src/read/snapshot.js';

const SECRET = 'snapshot codec secret 0123456789';
const utf8 = (text: string) => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);
const KEY = 'reg:orders:i-1';

async function rejects(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe('invalid-record');
  return error as RegistryError;
}

describe('gcm snapshots', () => {
  it('seal and open round-trip, bound to their name, on both backends', async () => {
    const backends = [nodeCryptoBackend, webCryptoBackend];
    for (const codec of backends.map((backend) => gcmCodec(SECRET, { backend }))) {
      const sealed = (await codec.sealSnapshot?.('{"v":1}', 'reg:orders')) as string;
      expect(sealed).toMatch(/^s1\.[A-Za-z0-9_-]{8}\./);
      expect(text(await codec.openSnapshot?.(sealed, 'reg:orders'))).toBe('{"v":1}');
      // Text beyond ASCII, and a snapshot larger than any buffer reused before it (node:crypto opens
      // one into a buffer it keeps): both backends open what either sealed.
      const plaintext = JSON.stringify({ city: 'Zürich ✓ 東京', pad: 'x'.repeat(300_000) });
      for (const other of backends.map((backend) => gcmCodec(SECRET, { backend }))) {
        const large = (await other.sealSnapshot?.(plaintext, 'reg:orders')) as string;
        expect(text(await codec.openSnapshot?.(large, 'reg:orders'))).toBe(plaintext);
        // As the bytes a store read it as (Redis: raw replies), the same.
        expect(text(await codec.openSnapshot?.(utf8(large), 'reg:orders'))).toBe(plaintext);
        const flipped = large.length - 30;
        const damaged = `${large.slice(0, flipped)}${large[flipped] === 'A' ? 'B' : 'A'}${large.slice(flipped + 1)}`;
        await rejects(codec.openSnapshot?.(damaged, 'reg:orders') as Promise<unknown>);
        await rejects(codec.openSnapshot?.(utf8(damaged), 'reg:orders') as Promise<unknown>);
      }
      await rejects(codec.openSnapshot?.(sealed, 'reg:billing') as Promise<unknown>);
      // A snapshot is no record, and a record no snapshot, even under a name equal to its key.
      await rejects(codec.decode(sealed, 'reg:orders'));
      const record = await codec.encode('{"v":1}', KEY);
      await rejects(codec.openSnapshot?.(record, KEY) as Promise<unknown>);
    }
  });

  it('opens only with one of its secrets: damaged, truncated or foreign ones are invalid-record', async () => {
    const codec = gcmCodec(SECRET);
    const sealed = (await codec.sealSnapshot?.('{"v":1,"at":1,"r":[]}', 'reg:orders')) as string;
    const middle = sealed.length - 10;
    const damaged = `${sealed.slice(0, middle)}${sealed[middle] === 'A' ? 'B' : 'A'}${sealed.slice(middle + 1)}`;
    // Beyond the alphabet, padding inside, a length no base64 has, a prefix of another codec.
    const payloadAt = sealed.indexOf('.', 3) + 1;
    const edited = (at: number, insert: string, remove = 1) =>
      `${sealed.slice(0, at)}${insert}${sealed.slice(at + remove)}`;
    const bad = [
      damaged,
      sealed.slice(0, 20),
      'g1.x.y',
      `${sealed}.extra`,
      '',
      edited(payloadAt + 4, '*'),
      edited(payloadAt + 4, '='),
      edited(payloadAt + 4, 'AB', 0),
      `t1${sealed.slice(2)}`,
    ];
    for (const value of bad) {
      await rejects(codec.openSnapshot?.(value, 'reg:orders') as Promise<unknown>);
      await rejects(codec.openSnapshot?.(utf8(value), 'reg:orders') as Promise<unknown>);
    }
    // A byte no text of the alphabet has (not even UTF-8), in the payload.
    const raw = utf8(sealed);
    raw[payloadAt + 4] = 0xff;
    await rejects(codec.openSnapshot?.(raw, 'reg:orders') as Promise<unknown>);
    await rejects(
      gcmCodec('another secret 0123456789abcdef').openSnapshot?.(sealed, 'reg:orders') as Promise<unknown>,
    );
    const rotated = gcmCodec(['a newer secret 0123456789abcdef', SECRET]);
    expect(text(await rotated.openSnapshot?.(sealed, 'reg:orders'))).toBe('{"v":1,"at":1,"r":[]}');
  });

  it("bodyOf restores a g2 value's body without decrypting: same mark, same checks", async () => {
    const codec = gcmCodec(SECRET);
    const value = (await codec.encodeRecord?.('{"port":1}', 1_000_000, KEY)) as string;
    const refreshed = (await codec.encodeRecord?.('{"port":1}', 2_000_000, KEY)) as string;
    const changed = (await codec.encodeRecord?.('{"port":2}', 2_000_000, KEY)) as string;
    const decoded = await codec.decodeRecord?.(value, KEY);
    const restored = codec.bodyOf?.(refreshed, KEY);
    expect(restored?.mark).toBe(decoded?.body?.mark);
    expect(codec.bodyOf?.(changed, KEY)?.mark).not.toBe(decoded?.body?.mark);
    const mac = value.slice(value.indexOf('.', 12) + 1, value.lastIndexOf('.'));
    expect(restored?.macOf?.(value)).toBe(mac);
    const hasTail = (of: string, expiresAt: number, text = `.${mac}.`) =>
      restored?.hasTail?.(of, text, 1, text.length - 1, expiresAt);
    expect(hasTail(value, 1_000_000)).toBe(true);
    expect(hasTail(value, 1_000_001)).toBe(false);
    expect(hasTail(value, 1_000_000, `.${mac.slice(1)}x.`)).toBe(false);
    expect(hasTail(value, 1_000_000, '..')).toBe(false);
    expect(hasTail(refreshed, 2_000_000)).toBe(false);
    expect(hasTail(changed, 1_000_000)).toBe(false);
    expect(restored?.macOf?.(changed)).toBeUndefined();
    const mark = decoded?.body?.mark as string;
    // In place, inside a longer text.
    const within = (text: string) => `ab${text}cd`;
    expect(restored?.hasMark?.(within(mark), 2, 2 + mark.length)).toBe(true);
    expect(codec.bodyOf?.(changed, KEY)?.hasMark?.(within(mark), 2, 2 + mark.length)).toBe(false);
    for (const other of [
      '',
      mark.slice(1),
      `${mark}x`,
      mark.replace(/.$/, 'x'),
      `9${mark}`,
      mark.replace('.', ','),
    ]) {
      expect(restored?.hasMark?.(within(other), 2, 2 + other.length)).toBe(false);
      expect(decoded?.body?.hasMark?.(within(other), 2, 2 + other.length)).toBe(false);
    }
    // A decoded body (no value of its own to read from) compares the same way.
    expect(decoded?.body?.hasMark?.(within(mark), 2, 2 + mark.length)).toBe(true);
    expect(restored?.hasMark?.(`${mark}ab`, 0, mark.length)).toBe(true);
    expect(restored?.claimedExpiry?.(value)).toBe(1_000_000);
    expect(restored?.sameBody(value)).toBe(1_000_000);
    expect(restored?.sameBody(changed)).toBeUndefined();
    const forged = refreshed.replace(/\d+$/, '9000000');
    expect(() => codec.bodyOf?.(forged, KEY)?.sameBody(forged)).toThrow(RegistryError);
    // Bound to the key: the MAC of a value restored under another key fails.
    expect(() => codec.bodyOf?.(value, 'reg:orders:i-2')?.sameBody(value)).toThrow(RegistryError);
    expect(codec.bodyOf?.(await codec.encode('{}', KEY), KEY)).toBeUndefined();
  });

  it('bodyOf takes its key as a function, asked only once an expiry MAC is checked', async () => {
    const codec = gcmCodec(SECRET);
    const value = (await codec.encodeRecord?.('{"port":1}', 1_000_000, KEY)) as string;
    const refreshed = (await codec.encodeRecord?.('{"port":1}', 2_000_000, KEY)) as string;
    await codec.decodeRecord?.(value, KEY);
    const asked: string[] = [];
    const keyOf = (key: string) => () => {
      asked.push(key);
      return key;
    };
    const restored = codec.bodyOf?.(value, keyOf(KEY));
    // The value it was cut from, and a later one of the same body: no key needed to say so.
    expect(restored?.claimedExpiry?.(value)).toBe(1_000_000);
    expect(restored?.claimedExpiry?.(refreshed)).toBe(2_000_000);
    expect(restored?.claimedExpiry?.(`${value.slice(0, 20)}x${value.slice(21)}`)).toBeUndefined();
    expect(asked).toEqual([]);
    expect(restored?.sameBody(refreshed)).toBe(2_000_000);
    expect(restored?.sameBody(value)).toBe(1_000_000);
    expect(asked).toEqual([KEY]);
    const elsewhere = codec.bodyOf?.(value, keyOf('reg:orders:i-2'));
    expect(() => elsewhere?.sameBody(value)).toThrow(RegistryError);
  });

  it('parseSnapshot reads what serializeSnapshot writes and refuses other shapes', () => {
    const info = (ipv4: string | null) => ({
      endpoints: ['a', 'b'],
      ipv4,
      port: 1,
      publicUrl: 'https://a.example',
      created: 'x',
    });
    const entry = {
      mark: 'm',
      mac: null,
      expiresAt: 5,
      info: info(null),
      status: 'up' as const,
      meta: { zone: 'a' },
    };
    const second = {
      ...entry,
      mark: 'n',
      mac: 'M'.repeat(22),
      info: info('10.0.0.1'),
      status: 'down' as const,
    };
    const json = serializeSnapshot(3, [
      ['i-1', entry],
      ['i-2', second],
    ]);
    const parsed = parseSnapshot(utf8(json));
    expect(parsed?.at).toBe(3);
    expect(parsed?.size).toBe(2);
    expect(parsed?.entry('i-1')).toEqual(entry);
    expect(parsed?.entry('i-2')).toEqual(second);
    expect(parsed?.entry('i-3')).toBeUndefined();
    // Values the rows share are written once.
    const [head, chunk, ...more] = json.split('\n');
    expect(JSON.parse(head as string)).toEqual({ v: 3, at: 3, n: 2 });
    expect(more).toEqual([]);
    expect(JSON.parse(chunk as string).d).toEqual([['a', 'b'], 'https://a.example', 'x', { zone: 'a' }]);
    const row = ['i-1', 1, 0, 5, 'up', 0, null, 1, 1, 2, 3];
    const snapshot = (d: unknown[], r: unknown[], k = 'm') =>
      `{"v":3,"at":1,"n":${Math.floor(r.length / 11)}}\n${JSON.stringify({ d, k, r })}`;
    const d = [['a'], 'https://a.example', 'x', {}];
    expect(parseSnapshot(utf8(snapshot(d, row)))?.entry('i-1')?.info.endpoints).toEqual(['a']);
    expect(parseSnapshot(utf8('{"v":3,"at":1,"n":0}'))?.size).toBe(0);
    const invalidUtf8 = utf8(snapshot([['a'], 'https://a.example', 'é', {}], row));
    invalidUtf8[invalidUtf8.indexOf(0xc3) + 1] = 0x28;
    expect(parseSnapshot(invalidUtf8)).toBeUndefined();
    for (const bad of [
      '',
      '[]',
      '{"v":1,"at":1,"r":[]}',
      '{"v":2,"at":1,"d":[],"k":"","r":[]}',
      '{"v":3,"at":1}',
      '{"v":3,"n":0}',
      '{"v":3,"at":1,"n":1}',
      '{"v":3,"at":1,"n":0}\n',
      '{"v":3,"at":1,"n":0}\n{"d":[],"k":"","r":[]}',
      snapshot(d, row).replace('"n":1', '"n":2'),
      snapshot(d, row).replace('"n":1', '"n":0'),
      `${snapshot(d, row)}\n${JSON.stringify({ d, k: 'm', r: row })}`.replace('"n":1', '"n":2'),
      snapshot(d, row, ''),
      snapshot(d, row, 'mm'),
      snapshot(
        d,
        row.map((value, index) => (index === 2 ? -1 : value)),
      ),
      snapshot(d, row.slice(1)),
      snapshot(d, [...row, ...row.slice(1)]),
      snapshot(
        d,
        row.map((value, index) => (index === 0 ? 7 : value)),
      ),
      // A reference out of range, or to a value of the wrong kind.
      snapshot(
        d,
        row.map((value, index) => (index === 5 ? 9 : value)),
      ),
      snapshot(
        d,
        row.map((value, index) => (index === 5 ? 1 : value)),
      ),
      snapshot(
        d,
        row.map((value, index) => (index === 8 ? 0.5 : value)),
      ),
      snapshot(
        d,
        row.map((value, index) => (index === 10 ? 2 : value)),
      ),
      snapshot([[1], 'u', 'x', {}], row),
      snapshot([['a'], 'u', 'x', { zone: 1 }], row),
    ]) {
      expect(parseSnapshot(utf8(bad)), bad).toBeUndefined();
    }
  });

  it('a large snapshot is lines of chunks, none near 128 KiB, and reads back whole', () => {
    const entries = Array.from({ length: 3000 }, (_, index): [string, SnapshotEntry] => [
      `i-${index}`,
      {
        mark: `497.${'h'.repeat(28)}.${'t'.repeat(24)}`,
        mac: index % 2 === 0 ? null : 'M'.repeat(22),
        expiresAt: 1000 + index,
        info: {
          endpoints: ['orders', 'invoices'],
          ipv4: `10.0.${index >> 8}.${index & 255}`,
          port: 8000 + index,
          publicUrl: 'https://orders.example',
          created: '2026-12-04T00:00:00',
        },
        status: 'up',
        // One instance in ten with a meta of its own, long: the chunk's shared values grow with it.
        meta: index % 10 === 0 ? { note: `${'é'.repeat(500)}${index}` } : { zone: 'a' },
      },
    ]);
    const json = serializeSnapshot(1000, entries);
    const lines = json.split('\n');
    expect(lines.length).toBeGreaterThan(4);
    for (const line of lines) expect(line.length).toBeLessThan(64 * 1024);
    const parsed = parseSnapshot(utf8(json));
    expect(parsed?.size).toBe(3000);
    for (const [id, entry] of entries) expect(parsed?.entry(id), id).toEqual(entry);
  });
});
