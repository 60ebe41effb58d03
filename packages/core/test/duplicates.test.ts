import { describe, expect, it } from 'vitest';
import { apicrudCodec } from '../src/codec/apicrud.js';
import { gcmCodec } from '../src/codec/gcm.js';
import { previousOf, writeFingerprint } from '../src/write/duplicates.js';

const SECRET = 'fingerprint-secret-0123456789';

describe('the expectPrevious prefix of a write', () => {
  it('is the 28-character gcm header and random IV: unique per write, and a prefix of the value', async () => {
    const codec = gcmCodec(SECRET);
    const values = await Promise.all(
      Array.from({ length: 200 }, () => codec.encode('{"same":1}', 'reg:a:b')),
    );
    const prefixes = values.map((value) => writeFingerprint(value, codec.name));
    for (const [index, prefix] of prefixes.entries()) {
      expect(prefix).toHaveLength(28);
      expect(values[index]?.startsWith(prefix)).toBe(true);
    }
    // The same plaintext 200 times: 200 different prefixes (the IV), so another writer's value never matches.
    expect(new Set(prefixes).size).toBe(200);
  });

  it('is the whole value for other codecs, whose first characters need not change per write', async () => {
    const value = await apicrudCodec(SECRET).encode('{"same":1}', 'reg:a:b');
    expect(writeFingerprint(value, 'apicrud')).toBe(value);
    expect(writeFingerprint('g1.AAAAAAAA.short', 'gcm')).toBe('g1.AAAAAAAA.short');
    expect(writeFingerprint('g1.AAAAAAAA.BBBBBBBBBBBBBBBBrest', 'custom')).toBe(
      'g1.AAAAAAAA.BBBBBBBBBBBBBBBBrest',
    );
  });

  it('reads a put result: null when the key held ours or nothing, the other value, or unknown', () => {
    expect(previousOf({ matched: true })).toBeNull();
    expect(previousOf({ matched: false, previous: 'theirs' })).toBe('theirs');
    expect(previousOf({ matched: false })).toBeUndefined();
    expect(previousOf(undefined)).toBeUndefined();
  });
});
