import { isRegistryError } from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import {
  apicrudRecords,
  checkedSnapshotKey,
  keySlot,
  parseSnapshotReply,
  recordKey,
  snapshotKey,
  snapshotWrite,
} from '../src/index.js';
import { errorOf } from './support.js';

describe('snapshot key', () => {
  it("is ns:snapshot:{svc}, in the slot of the service's records", () => {
    expect(snapshotKey('reg', 'main')).toBe('reg:snapshot:{main}');
    expect(keySlot(snapshotKey('reg', 'main'))).toBe(
      keySlot(recordKey({ namespace: 'reg', service: 'main', instanceId: 'i-1' })),
    );
  });

  it('checks names, value and ttl, and rounds the ttl up to whole milliseconds', () => {
    expect(snapshotWrite('reg', 'main', 'v', 1500.2)).toEqual({
      key: 'reg:snapshot:{main}',
      value: 'v',
      ttlMs: 1501,
    });
    expect(
      isRegistryError(
        errorOf(() => checkedSnapshotKey('reg', 'a}b')),
        'invalid-name',
      ),
    ).toBe(true);
    expect(
      isRegistryError(
        errorOf(() => checkedSnapshotKey('r:g', 'main')),
        'invalid-name',
      ),
    ).toBe(true);
    const notString = 42 as unknown as string;
    expect(
      isRegistryError(
        errorOf(() => snapshotWrite('reg', 'main', notString, 1000)),
        'invalid-argument',
      ),
    ).toBe(true);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        isRegistryError(
          errorOf(() => snapshotWrite('reg', 'main', 'v', ttl)),
          'invalid-argument',
        ),
      ).toBe(true);
    }
  });

  it('reads a GET reply as the value or null, and refuses anything else', () => {
    expect(parseSnapshotReply('v')).toBe('v');
    expect(parseSnapshotReply(null)).toBeNull();
    // Raw bytes are handed on as they are, for the codec to open without one long string.
    const bytes = new TextEncoder().encode('s1.k.AAAA');
    expect(parseSnapshotReply(bytes)).toBe(bytes);
    expect(
      isRegistryError(
        errorOf(() => parseSnapshotReply(['v'])),
        'store-unavailable',
      ),
    ).toBe(true);
  });

  // A SCAN of `reg:*` or `reg:snapshot:*` finds the key; its hash tag keeps it out of the records.
  it('is no record of the apicrud layout', () => {
    const keys = [snapshotKey('reg', 'main'), 'reg:main:i-1'];
    expect(apicrudRecords('reg', keys, ['snapshot', 'record'])).toEqual([
      { namespace: 'reg', service: 'main', instanceId: 'i-1', value: 'record' },
    ]);
  });
});
