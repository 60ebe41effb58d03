import { isRegistryError } from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import {
  changeCountCall,
  changeCounterKey,
  changesChannel,
  deleteCall,
  indexKey,
  isLiveEntry,
  keySlot,
  listServiceCall,
  listServicesCall,
  namespaceCounterKey,
  parseProbe,
  parsePutReply,
  parseRecords,
  parseServices,
  probeServiceCall,
  putCall,
  readPutReply,
  recordKey,
  scriptArguments,
  servicesKey,
  touchServiceCall,
  ttlArgument,
  UpkeepHorizons,
} from '../src/index.js';
import { errorOf } from './support.js';

const ref = { namespace: 'reg', service: 'api', instanceId: 'pod-1' };

describe('key layout', () => {
  it('names keys <namespace>:{<service>}:<instanceId> plus an index, a directory and a channel', () => {
    expect(recordKey(ref)).toBe('reg:{api}:pod-1');
    expect(indexKey('reg', 'api')).toBe('reg:index:{api}');
    expect(servicesKey('reg')).toBe('reg:services');
    expect(changesChannel('reg')).toBe('reg:changes');
  });

  it('treats an entry as live until its expiry, not at it', () => {
    expect(isLiveEntry(1001, 1000)).toBe(true);
    expect(isLiveEntry(1000, 1000)).toBe(false);
  });
});

describe('script calls', () => {
  it('a put of a ref that was changed in place builds and checks its keys again', () => {
    const mutable = { namespace: 'reg', service: 'api', instanceId: 'pod-1' };
    expect(putCall(mutable, 'v', 1000).keys[0]).toBe('reg:{api}:pod-1');
    mutable.instanceId = 'pod-2';
    expect(putCall(mutable, 'v', 1000).keys[0]).toBe('reg:{api}:pod-2');
    expect(putCall(mutable, 'v', 1000).args[2]).toBe('pod-2');
    mutable.service = 'bad:name';
    expect(isRegistryError(errorOf(() => putCall(mutable, 'v', 1000)))).toBe(true);
  });

  it('a put declares record, index and (on a single Redis) the directory', () => {
    const call = putCall(ref, 'value', 1500.2);
    expect(call.script.name).toBe('put');
    expect(call.keys).toEqual([
      'reg:{api}:pod-1',
      'reg:index:{api}',
      'reg:changed:{api}',
      'reg:services',
      'reg:{reg:services}:changed',
    ]);
    // The eighth argument is the upkeep horizon the last put answered: 0 when none is known.
    expect(call.args).toEqual(['value', '1501', 'pod-1', 'reg:changes', 'api', '1', 'reg:changes:api', '0']);
    expect(putCall(ref, 'value', 1000, { horizon: 1_800_000_000_123.5 }).args[7]).toBe('1800000000123');
    expect(isRegistryError(errorOf(() => putCall(ref, 'v', 1000, { horizon: Number.NaN })))).toBe(true);
    expect(putCall(ref, 'value', 1000, { changed: false }).args[5]).toBe('0');
    expect(scriptArguments(call)).toEqual([5, ...call.keys, ...call.args]);
    expect(putCall(ref, 'value', 1000, { directory: false }).keys).toHaveLength(3);
    // The duplicate check rides along as a ninth argument, and its reply is read by parsePutReply.
    expect(putCall(ref, 'value', 1000, { expectPrevious: 'g1.abc' }).args).toHaveLength(9);
    expect(putCall(ref, 'value', 1000, { expectPrevious: 'g1.abc' }).args[8]).toBe('g1.abc');
    expect(isRegistryError(errorOf(() => putCall(ref, 'v', 1000, { expectPrevious: 7 as never })))).toBe(
      true,
    );
    expect(parsePutReply([0, 5, 4])).toEqual({ matched: true });
    expect(readPutReply([1, '1800000000000', '1799999990000'])).toEqual({
      added: true,
      horizon: 1.8e12,
      expiresAt: 1_799_999_990_000,
      result: { matched: true },
    });
    expect(parsePutReply([1, 5, 4, 'theirs'])).toEqual({ matched: false, previous: 'theirs' });
    expect(parsePutReply([1, 5, 4, 42])).toEqual({ matched: false, previous: '42' });
    expect(parsePutReply([1, 5, 4, Buffer.from('ü')])).toEqual({ matched: false, previous: 'ü' });
    expect(isRegistryError(errorOf(() => parsePutReply(null)))).toBe(true);
    expect(isRegistryError(errorOf(() => parsePutReply(0)))).toBe(true);
    expect(isRegistryError(errorOf(() => parsePutReply([1, 5])))).toBe(true);
    expect(isRegistryError(errorOf(() => parsePutReply([1, 'soon', 4])))).toBe(true);
    expect(isRegistryError(errorOf(() => parsePutReply([1, 5, 'later'])))).toBe(true);
    expect(isRegistryError(errorOf(() => parsePutReply([1, 5, 4, {}])))).toBe(true);
    expect(touchServiceCall('reg', 'api', 1000)).toMatchObject({
      keys: ['reg:services', 'reg:{reg:services}:changed'],
      args: ['1000', 'api', '1'],
    });
    expect(touchServiceCall('reg', 'api', 1000, { changed: false }).args[2]).toBe('0');
  });

  it('a delete and the lists declare keys of one slot each', () => {
    expect(deleteCall(ref).keys).toEqual([
      'reg:{api}:pod-1',
      'reg:index:{api}',
      'reg:changed:{api}',
      'reg:services',
      'reg:{reg:services}:changed',
    ]);
    expect(deleteCall(ref, { directory: false }).keys).toEqual([
      'reg:{api}:pod-1',
      'reg:index:{api}',
      'reg:changed:{api}',
    ]);
    // Every call's keys share one slot, so each runs on one Cluster node.
    for (const call of [
      putCall(ref, 'v', 1000, { directory: false }),
      deleteCall(ref, { directory: false }),
      touchServiceCall('reg', 'api', 1000),
      probeServiceCall('reg', 'api', 1000),
    ]) {
      expect(new Set(call.keys.map((key) => keySlot(key))).size, call.script.name).toBe(1);
    }
    expect(keySlot(namespaceCounterKey('reg'))).toBe(keySlot(servicesKey('reg')));
    expect(changeCountCall('reg', 'api').keys).toEqual([changeCounterKey('reg', 'api')]);
    expect(changeCountCall('reg').keys).toEqual(['reg:{reg:services}:changed']);
    expect(parseProbe('api', [2, 7, 'pod-1', 900])).toEqual({
      service: 'api',
      count: 2,
      changes: 7,
      expiring: [{ instanceId: 'pod-1', expiresInMs: 900 }],
    });
    expect(listServiceCall('reg', 'api')).toMatchObject({ keys: ['reg:index:{api}'], args: ['reg:{api}:'] });
    expect(listServiceCall('reg', 'api', { keyPrefix: 'app:' }).args).toEqual(['app:reg:{api}:']);
    expect(listServicesCall('reg').keys).toEqual(['reg:services']);
  });

  it('refuses names that would break the layout, and bad ttls', () => {
    for (const service of ['a:b', '{api}', 'a*', 'a b', '', 'x'.repeat(129)]) {
      expect(
        isRegistryError(
          errorOf(() => putCall({ ...ref, service }, 'v', 1000)),
          'invalid-name',
        ),
        service,
      ).toBe(true);
    }
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        isRegistryError(
          errorOf(() => ttlArgument(ttl)),
          'invalid-argument',
        ),
        String(ttl),
      ).toBe(true);
    }
    expect(
      isRegistryError(
        errorOf(() => putCall(ref, 42 as unknown as string, 1000)),
        'invalid-argument',
      ),
    ).toBe(true);
  });
});

describe('reply parsers', () => {
  it('reads {id, value, ...} into records and service lists', () => {
    expect(parseRecords('reg', 'api', ['pod-1', 'v1', 'pod-2', 'v2'])).toEqual([
      { namespace: 'reg', service: 'api', instanceId: 'pod-1', value: 'v1' },
      { namespace: 'reg', service: 'api', instanceId: 'pod-2', value: 'v2' },
    ]);
    expect(parseRecords('reg', 'api', [])).toEqual([]);
    expect(parseServices(['api', 42])).toEqual(['api', '42']);
  });

  it('reports a reply of the wrong shape as store-unavailable', () => {
    expect(
      isRegistryError(
        errorOf(() => parseRecords('reg', 'api', 'OK')),
        'store-unavailable',
      ),
    ).toBe(true);
    expect(
      isRegistryError(
        errorOf(() => parseServices([null])),
        'store-unavailable',
      ),
    ).toBe(true);
  });
});

describe('UpkeepHorizons', () => {
  it('keeps the last horizon per service, for the next put of any instance of it', () => {
    const horizons = new UpkeepHorizons();
    expect(horizons.get(ref)).toBeUndefined();
    horizons.learn(ref, 100);
    horizons.learn({ ...ref, instanceId: 'pod-2' }, 200);
    expect(horizons.get(ref)).toBe(200);
    expect(horizons.get({ ...ref, service: 'other' })).toBeUndefined();
    expect(horizons.get({ ...ref, namespace: 'other' })).toBeUndefined();
  });

  it('forgets the least recently written services beyond 10,000', () => {
    const horizons = new UpkeepHorizons();
    horizons.learn(ref, 1);
    for (let index = 0; index < 10_000; index++) horizons.learn({ ...ref, service: `s-${index}` }, index);
    expect(horizons.get(ref)).toBeUndefined();
    expect(horizons.get({ ...ref, service: 's-0' })).toBe(0);
    expect(horizons.get({ ...ref, service: 's-9999' })).toBe(9999);
  });
});
