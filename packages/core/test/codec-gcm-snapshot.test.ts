// The gcm codec's service snapshots and the bodies it restores for them (see read/snapshot.ts).
import { describe, expect, it } from 'vitest';
import { gcmCodec } from '../src/codec/gcm.js';
import { webCryptoBackend } from '../src/crypto/web.js';
import { RegistryError } from '../src/errors.js';
import { parseSnapshot, serializeSnapshot } from '../src/read/snapshot.js';

const SECRET = 'snapshot codec secret 0123456789';
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
    for (const codec of [gcmCodec(SECRET), gcmCodec(SECRET, { backend: webCryptoBackend })]) {
      const sealed = (await codec.sealSnapshot?.('{"v":1}', 'reg:orders')) as string;
      expect(sealed).toMatch(/^s1\.[A-Za-z0-9_-]{8}\./);
      expect(await codec.openSnapshot?.(sealed, 'reg:orders')).toBe('{"v":1}');
      await rejects(codec.openSnapshot?.(sealed, 'reg:billing') as Promise<string>);
      // A snapshot is no record, and a record no snapshot, even under a name equal to its key.
      await rejects(codec.decode(sealed, 'reg:orders'));
      const record = await codec.encode('{"v":1}', KEY);
      await rejects(codec.openSnapshot?.(record, KEY) as Promise<string>);
    }
  });

  it('opens only with one of its secrets: damaged, truncated or foreign ones are invalid-record', async () => {
    const codec = gcmCodec(SECRET);
    const sealed = (await codec.sealSnapshot?.('{"v":1,"at":1,"r":[]}', 'reg:orders')) as string;
    const middle = sealed.length - 10;
    const damaged = `${sealed.slice(0, middle)}${sealed[middle] === 'A' ? 'B' : 'A'}${sealed.slice(middle + 1)}`;
    for (const value of [damaged, sealed.slice(0, 20), 'g1.x.y', `${sealed}.extra`, '']) {
      await rejects(codec.openSnapshot?.(value, 'reg:orders') as Promise<string>);
    }
    await rejects(
      gcmCodec('another secret 0123456789abcdef').openSnapshot?.(sealed, 'reg:orders') as Promise<string>,
    );
    const rotated = gcmCodec(['a newer secret 0123456789abcdef', SECRET]);
    expect(await rotated.openSnapshot?.(sealed, 'reg:orders')).toBe('{"v":1,"at":1,"r":[]}');
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
    expect(restored?.tailOf?.(value)).toBe(value.slice(value.indexOf('.', 12) + 1));
    expect(restored?.claimedExpiry?.(value)).toBe(1_000_000);
    expect(restored?.sameBody(value)).toBe(1_000_000);
    expect(restored?.sameBody(changed)).toBeUndefined();
    const forged = refreshed.replace(/\d+$/, '9000000');
    expect(() => codec.bodyOf?.(forged, KEY)?.sameBody(forged)).toThrow(RegistryError);
    // Bound to the key: the MAC of a value restored under another key fails.
    expect(() => codec.bodyOf?.(value, 'reg:orders:i-2')?.sameBody(value)).toThrow(RegistryError);
    expect(codec.bodyOf?.(await codec.encode('{}', KEY), KEY)).toBeUndefined();
  });

  it('parseSnapshot reads what serializeSnapshot writes and refuses other shapes', () => {
    const entry = {
      mark: 'm',
      tail: null,
      expiresAt: 5,
      info: { endpoints: [], ipv4: null, port: 1, publicUrl: 'https://a.example', created: 'x' },
      status: 'up' as const,
      meta: {},
    };
    const parsed = parseSnapshot(serializeSnapshot(3, [['i-1', entry]]));
    expect(parsed?.at).toBe(3);
    expect(parsed?.entries.get('i-1')).toEqual(entry);
    for (const json of ['', '[]', '{"v":2,"at":1,"r":[]}', '{"v":1,"r":[]}', '{"v":1,"at":1,"r":[[1]]}']) {
      expect(parseSnapshot(json)).toBeUndefined();
    }
  });
});
