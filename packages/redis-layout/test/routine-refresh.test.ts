import { isRegistryError } from '@service-registry/core';
import { describe, expect, it } from 'vitest';
import {
  batchTime,
  type CommandReply,
  clockCommand,
  indexWrite,
  RoutineRefresh,
  recordKey,
  UpkeepHorizons,
} from '../src/index.js';
import { errorOf } from './support.js';

const ref = { namespace: 'reg', service: 'api', instanceId: 'pod-1' };
const TTL = 30_000;
// The store's clock runs a day ahead of this host's monotonic clock.
const AHEAD = 86_400_000;

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

/** A planner that learned, from a script call sent at local time 1,000, a horizon 40 s ahead. */
function learned(): RoutineRefresh {
  const routine = new RoutineRefresh(new UpkeepHorizons());
  const storeNow = 1_000 + AHEAD;
  routine.learnScript(
    ref,
    { added: true, horizon: storeNow + 40_000, expiresAt: storeNow + TTL, result: { matched: true } },
    TTL,
    1_000,
  );
  return routine;
}

const ok = (left: number, held: unknown = 'OK'): CommandReply[] => [
  [null, held],
  [null, 1],
  [null, left],
];

describe('routine refresh without the put script', () => {
  it('runs the script until a reply taught the horizon and the store time, and for changed content', () => {
    const fresh = new RoutineRefresh(new UpkeepHorizons());
    expect(fresh.plan(ref, TTL, false, 1_000)).toBeUndefined();
    const routine = learned();
    expect(routine.plan(ref, TTL, true, 2_000)).toBeUndefined();
    // The expiry is the store's time (learned from the reply's expiry less the ttl) plus the ttl.
    expect(routine.plan(ref, TTL, false, 2_000)).toBe(2_000 + AHEAD + TTL);
    // Another service has no horizon yet.
    expect(routine.plan({ ...ref, service: 'web' }, TTL, false, 2_000)).toBeUndefined();
  });

  it('runs the script when the upkeep is due or the horizon lies over a ttl ahead', () => {
    const routine = learned();
    // The horizon is 41,000 + AHEAD: an expiry past it is due for upkeep.
    expect(routine.plan(ref, TTL, false, 11_000)).toBe(11_000 + AHEAD + TTL);
    expect(routine.plan(ref, TTL, false, 11_001)).toBeUndefined();
    const restarted = new RoutineRefresh(new UpkeepHorizons());
    const storeNow = 1_000 + AHEAD;
    restarted.learnScript(
      ref,
      { added: true, horizon: storeNow + 3 * TTL, expiresAt: storeNow + TTL, result: { matched: true } },
      TTL,
      1_000,
    );
    expect(restarted.plan(ref, TTL, false, 1_000)).toBeUndefined();
  });

  it('forgets a store time learned over a minute ago', () => {
    const routine = new RoutineRefresh(new UpkeepHorizons());
    const storeNow = 1_000 + AHEAD;
    const reply = {
      added: true,
      horizon: storeNow + 100_000,
      expiresAt: storeNow + TTL,
      result: { matched: true },
    };
    routine.learnScript(ref, reply, TTL, 1_000);
    expect(routine.plan(ref, TTL, false, 61_000)).toBeDefined();
    expect(routine.plan(ref, TTL, false, 61_001)).toBeUndefined();
  });

  it('never plans the expiry it last wrote for a ref again (ZADD XX CH would read it as missing)', () => {
    const routine = learned();
    // The join's reply said the record expires at 1,000 + AHEAD + TTL: a refresh in that same
    // millisecond gets the next one.
    expect(routine.plan(ref, TTL, false, 1_000)).toBe(1_001 + AHEAD + TTL);
    const at = routine.plan(ref, TTL, false, 5_000) as number;
    routine.commands(ref, 'v', at);
    expect(routine.plan(ref, TTL, false, 5_000)).toBe(at + 1);
  });

  it('sends SET PXAT (GET with a duplicate check), ZADD XX CH and PTTL of the declared keys', () => {
    const routine = learned();
    expect(routine.commands(ref, 'value', 1_800_000_000_000)).toEqual([
      ['SET', 'reg:{api}:pod-1', 'value', 'PXAT', '1800000000000'],
      ['ZADD', 'reg:index:{api}', 'XX', 'CH', '1800000000000', 'pod-1'],
      ['PTTL', 'reg:{api}:pod-1'],
    ]);
    expect(routine.commands(ref, 'value', 5, 'g2.abc')[0]).toEqual([
      'SET',
      'reg:{api}:pod-1',
      'value',
      'PXAT',
      '5',
      'GET',
    ]);
    expect(isRegistryError(errorOf(() => routine.commands(ref, 7 as never, 5)))).toBe(true);
    expect(isRegistryError(errorOf(() => routine.commands(ref, 'v', 5, 7 as never)))).toBe(true);
    expect(isRegistryError(errorOf(() => routine.commands({ ...ref, service: 'a:b' }, 'v', 5)))).toBe(true);
  });

  it('is done when the entry was indexed and the record lives about one ttl', () => {
    const routine = learned();
    const at = routine.plan(ref, TTL, false, 2_000) as number;
    expect(routine.read(ok(TTL - 3), at, TTL, undefined, 2_000)).toEqual({
      done: true,
      result: { matched: true },
    });
    // The duplicate check reads what SET ... GET answered, as the script would.
    expect(routine.read(ok(TTL, 'g2.mine-rest'), at, TTL, 'g2.mine', 2_000)).toEqual({
      done: true,
      result: { matched: true },
    });
    expect(routine.read(ok(TTL, null), at, TTL, 'g2.mine', 2_000).result).toEqual({ matched: true });
    expect(routine.read(ok(TTL, 'g2.theirs'), at, TTL, 'g2.mine', 2_000)).toEqual({
      done: true,
      result: { matched: false, previous: 'g2.theirs' },
    });
  });

  it('learns the store time from each PTTL, so a clock that drifts is followed', () => {
    const routine = learned();
    const at = routine.plan(ref, TTL, false, 2_000) as number;
    // The store answered 100 ms less than planned: its clock is 100 ms further ahead.
    routine.read(ok(TTL - 100), at, TTL, undefined, 2_000);
    expect(routine.plan(ref, TTL, false, 3_000)).toBe(3_000 + AHEAD + 100 + TTL);
  });

  it('asks for the script when the instance is not indexed, or the record would not live a ttl', () => {
    const routine = learned();
    const at = routine.plan(ref, TTL, false, 2_000) as number;
    const missing: CommandReply[] = [
      [null, 'OK'],
      [null, 0],
      [null, TTL],
    ];
    expect(routine.read(missing, at, TTL, undefined, 2_000)).toMatchObject({
      done: false,
      reason: 'not-indexed',
      unsupported: false,
    });
    // A store clock that jumped: the record was already gone (SET PXAT in the past) or lives too long.
    for (const left of [-2, -1, TTL - 3_001, TTL + 3_001, 'soon']) {
      expect(routine.read(ok(left as number), at, TTL, undefined, 2_000)).toMatchObject({
        done: false,
        reason: 'expiry',
      });
    }
    // The duplicate check already ran: the script need not compare again.
    expect(routine.read(ok(-2, 'g2.theirs'), at, TTL, 'g2.mine', 2_000).result).toEqual({
      matched: false,
      previous: 'g2.theirs',
    });
  });

  it('checks each refresh of a batch against the one PTTL the batch sent', () => {
    const routine = learned();
    const other = { ...ref, instanceId: 'pod-2' };
    routine.learnScript(
      other,
      {
        added: true,
        horizon: 1_000 + AHEAD + 40_000,
        expiresAt: 1_000 + AHEAD + TTL,
        result: { matched: true },
      },
      TTL,
      1_000,
    );
    const first = routine.plan(ref, TTL, false, 2_000) as number;
    const second = routine.plan(other, TTL, false, 2_001) as number;
    expect(routine.writes(ref, 'v', first)).toEqual(routine.commands(ref, 'v', first).slice(0, 2));
    expect(clockCommand(other)).toEqual(['PTTL', recordKey(other)]);
    // The batch's PTTL read the last record: the store's time when the batch ran, for both.
    const storeNow = batchTime([null, TTL - 4], second) as number;
    expect(storeNow).toBe(second - TTL + 4);
    const written: CommandReply[] = [
      [null, 'OK'],
      [null, 1],
    ];
    for (const [at, sentAt] of [
      [first, 2_000],
      [second, 2_001],
    ] as const) {
      expect(routine.readWrites(written, at, TTL, undefined, sentAt, storeNow)).toEqual({
        done: true,
        result: { matched: true },
      });
    }
    // A PTTL that said nothing (an error, no key, no expiry) sends each to the script.
    for (const pttl of [
      [replyError('ERR'), null],
      [null, -2],
      [null, -1],
    ] as CommandReply[]) {
      expect(batchTime(pttl, second)).toBeUndefined();
    }
    expect(routine.readWrites(written, first, TTL, undefined, 2_000, undefined)).toMatchObject({
      done: false,
      reason: 'expiry',
    });
    // A store clock 10 s off for the batch: every refresh in it is out of bounds.
    expect(routine.readWrites(written, first, TTL, undefined, 2_000, storeNow + 10_000)).toMatchObject({
      done: false,
      reason: 'expiry',
    });
    expect(
      routine.readWrites(
        [
          [null, 'OK'],
          [null, 0],
        ],
        second,
        TTL,
        undefined,
        2_001,
        storeNow,
      ),
    ).toMatchObject({ done: false, reason: 'not-indexed' });
  });

  it('falls back on an error reply, notes a server without PXAT, and throws a connection failure', () => {
    const routine = learned();
    const at = routine.plan(ref, TTL, false, 2_000) as number;
    const wrongType: CommandReply[] = [
      [replyError('WRONGTYPE Operation against a key holding the wrong kind of value'), null],
      [null, 1],
      [null, TTL],
    ];
    expect(routine.read(wrongType, at, TTL, 'g2.mine', 2_000)).toEqual({
      done: false,
      result: undefined,
      unsupported: false,
      reason: 'error',
    });
    const old: CommandReply[] = [
      [replyError('ERR syntax error'), null],
      [null, 1],
      [null, TTL],
    ];
    expect(routine.read(old, at, TTL, undefined, 2_000)).toMatchObject({ unsupported: true });
    const pttlRefused: CommandReply[] = [
      [null, 'OK'],
      [null, 1],
      [replyError('ERR unknown command'), null],
    ];
    expect(routine.read(pttlRefused, at, TTL, undefined, 2_000)).toMatchObject({
      done: false,
      reason: 'error',
      unsupported: false,
    });
    const cut: CommandReply[] = [
      [new Error('Connection is closed.'), null],
      [new Error('Connection is closed.'), null],
      [new Error('Connection is closed.'), null],
    ];
    expect(() => routine.read(cut, at, TTL, undefined, 2_000)).toThrow('Connection is closed');
    expect(isRegistryError(errorOf(() => routine.read([], at, TTL, undefined, 2_000)))).toBe(true);
  });
});

describe('one ZADD for the entries of one index', () => {
  const entries = ['pod-1', 'pod-2', 'pod-3'].map((member, index) => ({
    index: 'reg:index:{api}',
    score: String(1_800_000_000_000 + index),
    member,
  }));

  it('writes every entry in one ZADD XX CH, as batchWrites describes them', () => {
    const routine = learned();
    const { set, entry } = routine.batchWrites(ref, 'value', 1_800_000_000_000);
    expect(set).toEqual(['SET', 'reg:{api}:pod-1', 'value', 'PXAT', '1800000000000']);
    expect(entry).toEqual({ index: 'reg:index:{api}', score: '1800000000000', member: 'pod-1' });
    expect(indexWrite(entries).command).toEqual([
      'ZADD',
      'reg:index:{api}',
      'XX',
      'CH',
      '1800000000000',
      'pod-1',
      '1800000000001',
      'pod-2',
      '1800000000002',
      'pod-3',
    ]);
    expect(isRegistryError(errorOf(() => indexWrite([])))).toBe(true);
  });

  it('reads a full count as every entry indexed, a short one as every entry missing', () => {
    const { indexed } = indexWrite(entries);
    expect(indexed([null, 3])).toEqual([null, 1]);
    expect(indexed([null, 2])).toEqual([null, 0]);
    expect(indexed([null, 0])).toEqual([null, 0]);
    const wrongType: CommandReply = [replyError('WRONGTYPE Operation against a key'), undefined];
    expect(indexed(wrongType)).toBe(wrongType);
    // What each refresh then makes of it: done when indexed, the script when not.
    const routine = learned();
    const at = routine.plan(ref, TTL, false, 2_000) as number;
    const set: CommandReply = [null, 'OK'];
    const storeNow = at - TTL;
    expect(routine.readWrites([set, indexed([null, 3])], at, TTL, undefined, 2_000, storeNow)).toEqual({
      done: true,
      result: { matched: true },
    });
    expect(routine.readWrites([set, indexed([null, 2])], at, TTL, undefined, 2_000, storeNow)).toMatchObject({
      done: false,
      reason: 'not-indexed',
    });
    expect(routine.readWrites([set, indexed(wrongType)], at, TTL, undefined, 2_000, storeNow)).toMatchObject({
      done: false,
      reason: 'error',
    });
  });
});
