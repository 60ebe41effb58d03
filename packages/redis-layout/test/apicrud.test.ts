import { isRegistryError } from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import {
  apicrudDeleteCommand,
  apicrudKey,
  apicrudMgetCommands,
  apicrudPutCommand,
  apicrudRecords,
  apicrudScanCommand,
  apicrudScanPattern,
  apicrudTtlSeconds,
  parseScanReply,
  scanKeys,
} from '../src/index.js';
import { errorOf } from './support.js';

const ref = { namespace: 'reg', service: 'main', instanceId: 'i-1' };

describe('apicrud layout commands', () => {
  it("writes apicrud's own key with SET EX in whole seconds, rounded up", () => {
    expect(apicrudKey(ref)).toBe('reg:main:i-1');
    expect(apicrudPutCommand(ref, 'v', 60_000)).toEqual(['SET', 'reg:main:i-1', 'v', 'EX', '60']);
    expect(apicrudPutCommand(ref, 'v', 1)).toEqual(['SET', 'reg:main:i-1', 'v', 'EX', '1']);
    expect(apicrudTtlSeconds(30_001)).toBe(31);
    expect(apicrudDeleteCommand(ref)).toEqual(['DEL', 'reg:main:i-1']);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        isRegistryError(
          errorOf(() => apicrudTtlSeconds(ttl)),
          'invalid-argument',
        ),
      ).toBe(true);
    }
    expect(
      isRegistryError(
        errorOf(() => apicrudKey({ ...ref, instanceId: 'a:b' })),
        'invalid-name',
      ),
    ).toBe(true);
  });

  it('scans the record pattern with COUNT 1000, glob characters of a client prefix escaped', () => {
    expect(apicrudScanPattern('reg')).toBe('reg:*');
    expect(apicrudScanPattern('reg', 'main')).toBe('reg:main:*');
    expect(apicrudScanPattern('reg', 'main', 'a*[b]?\\:')).toBe('a\\*\\[b\\]\\?\\\\:reg:main:*');
    expect(apicrudScanCommand('0', 'reg:*')).toEqual(['SCAN', '0', 'MATCH', 'reg:*', 'COUNT', '1000']);
    expect(
      isRegistryError(
        errorOf(() => apicrudScanPattern('re*g')),
        'invalid-name',
      ),
    ).toBe(true);
  });

  it('reads SCAN replies, numeric cursors included, and refuses anything else', () => {
    expect(parseScanReply(['17', ['a', 'b']])).toEqual({ cursor: '17', keys: ['a', 'b'] });
    expect(parseScanReply([0, []])).toEqual({ cursor: '0', keys: [] });
    for (const reply of [null, 'x', ['0'], ['0', 'a'], [null, []], ['0', [1]]]) {
      expect(
        isRegistryError(
          errorOf(() => parseScanReply(reply)),
          'store-unavailable',
        ),
      ).toBe(true);
    }
  });

  it('scans to cursor 0 and reports every key once', async () => {
    const replies: Record<string, unknown> = {
      '0': ['5', ['a', 'b']],
      '5': ['9', ['b', 'c']],
      '9': ['0', []],
    };
    const batches: string[][] = [];
    const cursors: string[] = [];
    const keys = await scanKeys(
      async (cursor) => {
        cursors.push(cursor);
        return replies[cursor];
      },
      (batch) => batches.push(batch),
    );
    expect(cursors).toEqual(['0', '5', '9']);
    expect(keys).toEqual(['a', 'b', 'c']);
    expect(batches).toEqual([['a', 'b'], ['c']]);
  });

  it('chunks MGET at 1000 keys', () => {
    const keys = Array.from({ length: 2001 }, (_, index) => `k${index}`);
    expect(apicrudMgetCommands(keys).map((command) => command.length - 1)).toEqual([1000, 1000, 1]);
  });
});

describe('apicrud layout records', () => {
  it('takes name and id from the key; marks keys with extra or missing parts; drops gone values', () => {
    const keys = ['reg:main:i-1', 'reg:main:i-1:extra', 'reg:main', 'reg:main:gone', 'reg:a b:i', 'reg:n:7'];
    const records = apicrudRecords('reg', keys, ['v1', 'v2', 'v3', null, 'v5', 42]);
    expect(records).toEqual([
      { namespace: 'reg', service: 'main', instanceId: 'i-1', value: 'v1' },
      { namespace: 'reg', service: 'main', instanceId: 'i-1:extra', value: 'v2', key: 'reg:main:i-1:extra' },
      { namespace: 'reg', service: 'main', instanceId: '', value: 'v3', key: 'reg:main' },
      { namespace: 'reg', service: 'a b', instanceId: 'i', value: 'v5', key: 'reg:a b:i' },
      { namespace: 'reg', service: 'n', instanceId: '7', value: '42' },
    ]);
  });

  it('leaves out record keys of the native layout that share the namespace', () => {
    expect(apicrudRecords('reg', ['reg:{main}:i-1', 'reg:index:{main}'], ['v', null])).toEqual([]);
  });

  it('refuses an MGET reply that does not match the keys', () => {
    for (const values of [null, ['v'], ['v', 'w', 'x'], [{}, 'w']]) {
      const error = errorOf(() => apicrudRecords('reg', ['reg:a:1', 'reg:a:2'], values));
      expect(isRegistryError(error, 'store-unavailable'), String(values)).toBe(true);
    }
  });
});
