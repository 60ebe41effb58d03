import { ServiceRegistry } from '@service-registry/core';
import {
  changeCounterKey,
  indexKey,
  namespaceCounterKey,
  recordKey,
  scripts,
  servicesKey,
} from '@service-registry/redis-layout';
import {
  countCommands,
  type RedisServer,
  randomNamespace,
  startRedisServer,
  traceClient,
} from '@service-registry/redis-testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisStore, redisStore } from '../src/index.js';

// Round trips, counted on a server this file owns: the server's INFO commandstats (what it executed)
// and the client's socket writes (what it sent, and in how many round trips).

// Commands the layout's scripts run through redis.call: executed by the server, never sent by the store.
const scriptCommands = new Set(
  scripts.flatMap((script) =>
    [...script.source.matchAll(/redis\.p?call\('(\w+)'/g)].map((match) => match[1]?.toLowerCase()),
  ),
);
const sentByClients = (calls: Record<string, number>) =>
  Object.fromEntries(Object.entries(calls).filter(([command]) => !scriptCommands.has(command)));

const LONG_TTL_MS = 60_000;

describe('redis store round trips', () => {
  let server: RedisServer;
  let client: Redis;
  let admin: Redis;
  let store: RedisStore;
  const ns = randomNamespace('rt');

  async function measure<T>(action: () => Promise<T>) {
    const trace = traceClient(client);
    try {
      const { result, calls } = await countCommands(server.url, action);
      return { result, sent: sentByClients(calls), writes: trace.writes, commands: [...trace.commands] };
    } finally {
      trace.stop();
    }
  }

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--enable-debug-command', 'local'] });
    client = new Redis(server.url);
    admin = new Redis(server.url);
    store = redisStore({ client });
    // Loads the scripts (the first call of each answers NOSCRIPT) before anything is counted.
    await store.put({ namespace: ns, service: 'warm', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
    await store.list(ns);
    await store.delete({ namespace: ns, service: 'warm', instanceId: 'i-1' });
  });
  afterAll(async () => {
    await store?.close();
    client?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  it('the stored script hashes are the ones SCRIPT LOAD returns', async () => {
    for (const script of scripts)
      expect(await admin.script('LOAD', script.source), script.name).toBe(script.sha1);
  });

  it('a refresh is one EVALSHA in one round trip', async () => {
    const { sent, writes, commands } = await measure(() =>
      store.put({ namespace: ns, service: 'api', instanceId: 'i-1' }, 'v', LONG_TTL_MS),
    );
    expect(sent).toEqual({ evalsha: 1 });
    expect({ writes, commands }).toEqual({ writes: 1, commands: ['evalsha'] });
  });

  it('a routine refresh is SET PXAT, ZADD XX CH and PTTL in one pipeline, and the script runs the upkeep once per ttl', async () => {
    const ttl = 400;
    const ref = { namespace: ns, service: 'routine', instanceId: 'i-1' };
    const executed = async (action: () => Promise<unknown>) =>
      (await countCommands(server.url, action)).calls;
    // A join: indexed, announced, upkeep (prune, directory, expiries), counters moved.
    const join = await executed(() => store.put(ref, 'v1', ttl));
    expect(join).toMatchObject({ evalsha: 1, zscore: 1, zremrangebyscore: 2, publish: 2 });
    // Routine refreshes within the upkeep horizon the join answered: no script, no TIME, no ZSCORE.
    const routine = { set: 1, zadd: 1, pttl: 1 };
    const sent = await measure(() => store.put(ref, 'v1', ttl, { changed: false }));
    expect(sent.commands).toEqual(['set', 'zadd', 'pttl']);
    expect(sent.writes).toBe(1);
    expect(await executed(() => store.put(ref, 'v1', ttl, { changed: false }))).toEqual(routine);
    expect(await executed(() => store.put(ref, 'v1', ttl, { changed: false, expectPrevious: 'v1' }))).toEqual(
      routine,
    );
    // The index score is still exactly the record's expiry, in the store's clock.
    expect(Number(await admin.zscore(indexKey(ns, 'routine'), 'i-1'))).toBe(
      Number(await admin.call('PEXPIRETIME', recordKey(ref))),
    );
    expect(await admin.pttl(recordKey(ref))).toBeGreaterThan(ttl - 100);
    // Once the record would outlive the horizon (one ttl past the join's expiry), the upkeep runs.
    await new Promise((resolve) => setTimeout(resolve, ttl + 50));
    const upkeep = await executed(() => store.put(ref, 'v1', ttl, { changed: false }));
    expect(upkeep).toMatchObject({ evalsha: 1, zscore: 1, zremrangebyscore: 2 });
    expect(upkeep.publish).toBeUndefined();
    expect(await executed(() => store.put(ref, 'v1', ttl, { changed: false }))).toEqual(routine);
    // Another store (another process) knows no horizon: it asks once, and finds the upkeep done.
    const other = redisStore({ client });
    const first = await executed(() => other.put(ref, 'v1', ttl, { changed: false }));
    expect(first).toMatchObject({ evalsha: 1, zscore: 1 });
    expect(first.zremrangebyscore).toBeUndefined();
    expect(await executed(() => other.put(ref, 'v1', ttl, { changed: false }))).toEqual(routine);
    // A changed record always runs the script, which announces it.
    expect(await executed(() => store.put(ref, 'v2', ttl))).toMatchObject({ evalsha: 1, publish: 2 });
    await store.delete(ref);
  });

  it('a store clock that moved costs one script call, and every record still lives a full ttl', async () => {
    const ref = { namespace: ns, service: 'clock', instanceId: 'i-1' };
    await store.put(ref, 'v1', LONG_TTL_MS);
    const routine = ['set', 'zadd', 'pttl'];
    expect((await measure(() => store.put(ref, 'v1', LONG_TTL_MS, { changed: false }))).commands).toEqual(
      routine,
    );
    // This host's clock, on which the store learned Redis' time, jumps 10 s: as if Redis' clock had.
    const local = performance.now.bind(performance);
    for (const jump of [10_000, -10_000]) {
      const moved = vi.spyOn(performance, 'now').mockImplementation(() => local() + jump);
      try {
        // Ahead: the routine write lands with an expiry 10 s late, its PTTL shows it, and the script
        // rewrites it. Behind: an expiry never goes back past the last one written, so the routine
        // write lands with about its full ttl, and its PTTL teaches the store the clock.
        const first = await measure(() => store.put(ref, 'v1', LONG_TTL_MS, { changed: false }));
        expect(first.commands).toEqual(jump > 0 ? [...routine, 'evalsha'] : routine);
        expect(await admin.pttl(recordKey(ref))).toBeGreaterThan(LONG_TTL_MS - 1_000);
        expect(await admin.pttl(recordKey(ref))).toBeLessThanOrEqual(LONG_TTL_MS);
        // Learned again from the script's reply: routine from the next refresh on.
        const next = await measure(() => store.put(ref, 'v1', LONG_TTL_MS, { changed: false }));
        expect(next.commands).toEqual(routine);
        expect(Math.abs((await admin.pttl(recordKey(ref))) - LONG_TTL_MS)).toBeLessThan(1_000);
        expect(Number(await admin.zscore(indexKey(ns, 'clock'), 'i-1'))).toBe(
          Number(await admin.call('PEXPIRETIME', recordKey(ref))),
        );
      } finally {
        moved.mockRestore();
      }
      // Back to the real clock: the learned time is off by the jump again, once.
      await store.put(ref, 'v1', LONG_TTL_MS, { changed: false });
    }
    await store.delete(ref);
  });

  it('routine refreshes sent together go out in one write, one ZADD per index and one PTTL, and a moved clock sends them all to the script', async () => {
    const refs = Array.from({ length: 20 }, (_, index) => ({
      namespace: ns,
      service: 'batch',
      instanceId: `i-${index}`,
    }));
    await Promise.all(refs.map((ref) => store.put(ref, 'v1', LONG_TTL_MS)));
    const refreshAll = () =>
      Promise.all(refs.map((ref) => store.put(ref, 'v1', LONG_TTL_MS, { changed: false })));
    const tally = (commands: readonly string[]) =>
      Object.fromEntries(
        [...new Set(commands)].map((name) => [name, commands.filter((c) => c === name).length]),
      );
    const together = await measure(refreshAll);
    expect(together.writes).toBe(1);
    expect(tally(together.commands)).toEqual({ set: 20, zadd: 1, pttl: 1 });
    for (const ref of refs) {
      expect(Number(await admin.zscore(indexKey(ns, 'batch'), ref.instanceId))).toBe(
        Number(await admin.call('PEXPIRETIME', recordKey(ref))),
      );
      expect(Math.abs((await admin.pttl(recordKey(ref))) - LONG_TTL_MS)).toBeLessThan(1_000);
    }
    // One at a time, each refresh reads the clock itself.
    const alone = await measure(async () => {
      for (const ref of refs.slice(0, 3)) await store.put(ref, 'v1', LONG_TTL_MS, { changed: false });
    });
    expect(tally(alone.commands)).toEqual({ set: 3, zadd: 3, pttl: 3 });
    // The learned clock is 10 s off: the batch's one PTTL shows it for every record, and each is
    // rewritten by the script with a full ttl.
    const local = performance.now.bind(performance);
    const moved = vi.spyOn(performance, 'now').mockImplementation(() => local() + 10_000);
    try {
      const skewed = await measure(refreshAll);
      expect(tally(skewed.commands)).toEqual({ set: 20, zadd: 1, pttl: 1, evalsha: 20 });
      for (const ref of refs) {
        expect(Math.abs((await admin.pttl(recordKey(ref))) - LONG_TTL_MS)).toBeLessThan(1_000);
      }
    } finally {
      moved.mockRestore();
    }
    await Promise.all(refs.map((ref) => store.delete(ref)));
  });

  it('a batch writes one ZADD per service, and an entry missing from it sends that service to the script', async () => {
    const refsOf = (service: string) =>
      Array.from({ length: 5 }, (_, index) => ({ namespace: ns, service, instanceId: `i-${index}` }));
    const refs = [...refsOf('pair-a'), ...refsOf('pair-b')];
    await Promise.all(refs.map((ref) => store.put(ref, 'v1', LONG_TTL_MS)));
    const refreshAll = () =>
      Promise.all(refs.map((ref) => store.put(ref, 'v1', LONG_TTL_MS, { changed: false })));
    const together = await measure(refreshAll);
    expect(together.writes).toBe(1);
    expect(together.commands.filter((command) => command === 'zadd')).toHaveLength(2);
    // One entry of pair-a lost (pruned or deleted by hand): its service's ZADD counts 4 of 5, which
    // does not say which one, so each refresh of pair-a runs the script; pair-b stays routine.
    await admin.zrem(indexKey(ns, 'pair-a'), 'i-3');
    const counter = Number(await admin.get(changeCounterKey(ns, 'pair-a')));
    const healed = await countCommands(server.url, refreshAll);
    // Five scripts; only the lost entry's is a re-index that announces itself (two channels).
    expect(healed.calls).toMatchObject({ evalsha: 5, publish: 2 });
    expect(Number(await admin.get(changeCounterKey(ns, 'pair-a')))).toBe(counter + 1);
    for (const ref of refs) {
      expect(Number(await admin.zscore(indexKey(ns, ref.service), ref.instanceId))).toBe(
        Number(await admin.call('PEXPIRETIME', recordKey(ref))),
      );
    }
    // Back to routine: one ZADD per service again.
    const after = await measure(refreshAll);
    expect(after.commands.filter((command) => command !== 'set')).toEqual(['zadd', 'zadd', 'pttl']);
    await Promise.all(refs.map((ref) => store.delete(ref)));
  });

  it('the same instance twice in one batch gets a ZADD of its own, and both refreshes land', async () => {
    const ref = { namespace: ns, service: 'twice', instanceId: 'i-1' };
    const other = { namespace: ns, service: 'twice', instanceId: 'i-2' };
    await store.put(ref, 'v1', LONG_TTL_MS);
    await store.put(other, 'v1', LONG_TTL_MS);
    const { result, commands } = await measure(() =>
      Promise.all([
        store.put(ref, 'v1', LONG_TTL_MS, { changed: false }),
        store.put(other, 'v1', LONG_TTL_MS, { changed: false }),
        store.put(ref, 'v1', LONG_TTL_MS, { changed: false }),
      ]),
    );
    expect(result).toEqual([undefined, undefined, undefined]);
    expect(commands.filter((command) => command === 'zadd')).toHaveLength(2);
    expect(commands.at(-1)).toBe('pttl');
    expect(commands).not.toContain('evalsha');
    expect(Number(await admin.zscore(indexKey(ns, 'twice'), 'i-1'))).toBe(
      Number(await admin.call('PEXPIRETIME', recordKey(ref))),
    );
    await store.delete(ref);
    await store.delete(other);
  });

  it('a routine refresh whose record vanished, or is of another type, is completed by the script', async () => {
    const ref = { namespace: ns, service: 'odd', instanceId: 'i-1' };
    await store.put(ref, 'g2.mine.first', LONG_TTL_MS);
    // Deleted by hand: the routine SET writes it again, and it is still indexed.
    await admin.del(recordKey(ref));
    expect(
      await store.put(ref, 'g2.mine.first', LONG_TTL_MS, { changed: false, expectPrevious: 'g2.mine' }),
    ).toEqual({ matched: true });
    expect(await admin.get(recordKey(ref))).toBe('g2.mine.first');
    // Overwritten by another writer: SET ... GET reports it, without a script.
    await admin.set(recordKey(ref), 'theirs', 'PX', LONG_TTL_MS);
    const theirs = await measure(() =>
      store.put(ref, 'g2.mine.first', LONG_TTL_MS, { changed: false, expectPrevious: 'g2.mine' }),
    );
    expect(theirs.result).toEqual({ matched: false, previous: 'theirs' });
    expect(theirs.commands).toEqual(['set', 'zadd', 'pttl']);
    // A hash made by hand: SET ... GET refuses it (WRONGTYPE), the script overwrites it as a join would.
    await admin.del(recordKey(ref));
    await admin.hset(recordKey(ref), 'f', 'v');
    const typed = await measure(() =>
      store.put(ref, 'g2.mine.first', LONG_TTL_MS, { changed: false, expectPrevious: 'g2.mine' }),
    );
    expect(typed.result).toEqual({ matched: true });
    expect(typed.commands).toEqual(['set', 'zadd', 'pttl', 'evalsha']);
    expect(await admin.get(recordKey(ref))).toBe('g2.mine.first');
    await store.delete(ref);
  });

  it('a routine refresh after its index was lost re-indexes and announces the instance, whatever horizon it knew', async () => {
    const ref = { namespace: ns, service: 'lost', instanceId: 'i-1' };
    await store.put(ref, 'v1', LONG_TTL_MS);
    await store.put(ref, 'v1', LONG_TTL_MS, { changed: false });
    const counter = Number(await admin.get(changeCounterKey(ns, 'lost')));
    // Evicted or deleted alone: the store still holds a horizon from the last put's reply.
    await admin.del(indexKey(ns, 'lost'));
    const calls = (
      await countCommands(server.url, () => store.put(ref, 'v1', LONG_TTL_MS, { changed: false }))
    ).calls;
    expect(calls.publish).toBe(2);
    expect(await admin.zscore(indexKey(ns, 'lost'), 'i-1')).not.toBeNull();
    expect(Number(await admin.get(changeCounterKey(ns, 'lost')))).toBe(counter + 1);
    // The new index expires like the old one did, at least one ttl from now.
    expect(await admin.pttl(indexKey(ns, 'lost'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    await store.delete(ref);
  });

  it('a refresh that checks for another writer (expectPrevious) is still one EVALSHA in one round trip', async () => {
    const ref = { namespace: ns, service: 'dup', instanceId: 'i-1' };
    await store.put(ref, 'g1.mine.first', LONG_TTL_MS);
    const mine = await measure(() =>
      store.put(ref, 'g1.mine.second', LONG_TTL_MS, { expectPrevious: 'g1.mine.f' }),
    );
    expect(mine.result).toEqual({ matched: true });
    expect(mine.sent).toEqual({ evalsha: 1 });
    expect({ writes: mine.writes, commands: mine.commands }).toEqual({ writes: 1, commands: ['evalsha'] });
    await admin.set(recordKey(ref), 'theirs', 'PX', LONG_TTL_MS);
    const theirs = await measure(() =>
      store.put(ref, 'g1.mine.third', LONG_TTL_MS, { expectPrevious: 'g1.mine.s' }),
    );
    expect(theirs.result).toEqual({ matched: false, previous: 'theirs' });
    expect({ writes: theirs.writes, commands: theirs.commands }).toEqual({
      writes: 1,
      commands: ['evalsha'],
    });
    // A key of another type (made by hand) is no writer of ours, and never fails the refresh.
    await admin.del(recordKey(ref));
    await admin.hset(recordKey(ref), 'f', 'v');
    expect(await store.put(ref, 'g1.mine.fourth', LONG_TTL_MS, { expectPrevious: 'g1.mine.t' })).toEqual({
      matched: true,
    });
    expect(await admin.get(recordKey(ref))).toBe('g1.mine.fourth');
    await store.delete(ref);
  });

  it('a registry refreshing with duplicate detection sends one pipeline per refresh, and no extra GET', async () => {
    const registry = new ServiceRegistry({
      store,
      secret: 'round-trips-secret-0123456789',
      publicUrl: 'http://a.example',
      namespace: randomNamespace('rt-reg'),
      ttl: 3,
      interval: 0.5,
      jitter: 0,
    });
    let refreshes = 0;
    const refreshed = (count: number) =>
      new Promise<void>((resolve) => {
        const stop = registry.on('refreshed', () => {
          refreshes++;
          if (--count > 0) return;
          stop();
          resolve();
        });
      });
    try {
      await registry.register(['thing'], { serviceName: 'svc', instanceId: 'i-1', port: 1 });
      // Counted from just after one refresh landed to the third after it: three refreshes, nothing else.
      await refreshed(1);
      refreshes = 0;
      const { sent, commands } = await measure(() => refreshed(3));
      expect(refreshes).toBe(3);
      // TIME runs at most once per 30 s per registry (the clock check): none here. The duplicate
      // check rides on the routine SET (SET ... GET): no script, no GET.
      expect(sent).toEqual({});
      expect(commands).toEqual(['set', 'zadd', 'pttl', 'set', 'zadd', 'pttl', 'set', 'zadd', 'pttl']);
      expect(registry.health().duplicate.detected).toBe(false);
    } finally {
      await registry.close();
    }
  });

  it('find(service) is one SORT_RO … GET in one round trip', async () => {
    await store.put({ namespace: ns, service: 'api', instanceId: 'i-2' }, 'v', LONG_TTL_MS);
    const { result, sent, writes, commands } = await measure(() => store.list(ns, 'api'));
    expect(result).toHaveLength(2);
    expect(sent).toEqual({ sort_ro: 1 });
    expect({ writes, commands }).toEqual({ writes: 1, commands: ['sort_ro'] });
  });

  it('find(service) over a stale index entry is still one SORT_RO, which skips it and writes nothing', async () => {
    const ref = { namespace: ns, service: 'stale', instanceId: 'i-1' };
    await store.put(ref, 'v', LONG_TTL_MS);
    await store.put({ ...ref, instanceId: 'i-2' }, 'v', LONG_TTL_MS);
    await admin.del(recordKey(ref)); // evicted, or deleted by hand: its index entry stays
    const first = await measure(() => store.list(ns, 'stale'));
    expect(first.result.map((record) => record.instanceId)).toEqual(['i-2']);
    expect(first.sent).toEqual({ sort_ro: 1 });
    expect({ writes: first.writes, commands: first.commands }).toEqual({ writes: 1, commands: ['sort_ro'] });
    // The entry stays until its expiry, when a refresh prunes it.
    expect(await admin.zrange(indexKey(ns, 'stale'), '0', '-1')).toEqual(['i-1', 'i-2']);
    await store.delete({ ...ref, instanceId: 'i-2' });
    await store.delete(ref);
  });

  it('find() of every service is two round trips: the directory, then one pipeline', async () => {
    for (const service of ['billing', 'search', 'mail']) {
      await store.put({ namespace: ns, service, instanceId: 'i-1' }, 'v', LONG_TTL_MS);
    }
    const { result, sent, writes, commands } = await measure(() => store.list(ns));
    expect(result).toHaveLength(5);
    // The directory script, then one pipeline of SORT_ROs: api, billing, search, mail.
    expect(sent).toEqual({ evalsha_ro: 1, sort_ro: 4 });
    expect(writes).toBe(2);
    expect(commands).toEqual(['evalsha_ro', ...Array(4).fill('sort_ro')]);
  });

  it('a delete is one EVALSHA in one round trip', async () => {
    await store.put({ namespace: ns, service: 'gone', instanceId: 'i-1' }, 'v', LONG_TTL_MS);
    const { sent, writes } = await measure(() =>
      store.delete({ namespace: ns, service: 'gone', instanceId: 'i-1' }),
    );
    expect(sent).toEqual({ evalsha: 1 });
    expect(writes).toBe(1);
  });

  it('100,000 unrelated keys change neither the commands nor the reply of a find', async () => {
    const before = await measure(() => store.list(ns));
    await admin.debug('POPULATE', 100_000, 'unrelated');
    expect(await admin.dbsize()).toBeGreaterThanOrEqual(100_000);
    const after = await measure(() => store.list(ns));
    expect(after.result).toEqual(before.result);
    expect(after.sent).toEqual(before.sent);
    expect(after.writes).toBe(before.writes);
    // Nothing in the layout scans: no SCAN or KEYS ran, from clients or scripts.
    const { calls } = await countCommands(server.url, () => store.list(ns));
    expect(Object.keys(calls).filter((command) => /scan|keys/.test(command))).toEqual([]);
  });

  it('after SCRIPT FLUSH (a restart or failover) the store falls back to EVAL once, then EVALSHA again', async () => {
    await admin.script('FLUSH');
    const ref = { namespace: ns, service: 'api', instanceId: 'i-3' };
    const first = await measure(() => store.put(ref, 'v', LONG_TTL_MS));
    expect(first.sent).toEqual({ evalsha: 1, eval: 1 });
    const second = await measure(() => store.put(ref, 'v2', LONG_TTL_MS));
    expect(second.sent).toEqual({ evalsha: 1 });

    await admin.script('FLUSH');
    const listed = await measure(() => store.list(ns));
    expect(listed.result.map((record) => `${record.service}:${record.instanceId}`).sort()).toContain(
      'api:i-3',
    );
    // The directory script: EVALSHA_RO, NOSCRIPT, EVAL_RO. The services: one pipeline of SORT_ROs.
    expect(listed.sent).toEqual({ evalsha_ro: 1, eval_ro: 1, sort_ro: 4 });
    expect(listed.writes).toBe(3);
    const again = await measure(() => store.list(ns));
    expect(again.sent).toEqual({ evalsha_ro: 1, sort_ro: 4 });
  });

  it('writes exactly the documented keys, with expiries', async () => {
    const fresh = randomNamespace('layout');
    const ref = { namespace: fresh, service: 'api', instanceId: 'i-1' };
    await store.put(ref, 'v', LONG_TTL_MS);
    const keys = (await admin.keys(`${fresh}:*`)).sort();
    const counters = [changeCounterKey(fresh, 'api'), namespaceCounterKey(fresh)];
    expect(keys).toEqual([recordKey(ref), indexKey(fresh, 'api'), servicesKey(fresh), ...counters].sort());
    // The record lives one ttl; index, directory and their change counters one ttl more (their
    // upkeep runs once per ttl).
    const record = await admin.pttl(recordKey(ref));
    expect(record).toBeGreaterThan(LONG_TTL_MS - 5_000);
    expect(record).toBeLessThanOrEqual(LONG_TTL_MS);
    for (const key of [indexKey(fresh, 'api'), servicesKey(fresh), ...counters]) {
      const ttl = await admin.pttl(key);
      expect(ttl, key).toBeGreaterThan(2 * LONG_TTL_MS - 5_000);
      expect(ttl, key).toBeLessThanOrEqual(2 * LONG_TTL_MS);
    }
  });
});
