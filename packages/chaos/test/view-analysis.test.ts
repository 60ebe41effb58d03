import { describe, expect, test } from 'vitest';
import { checkCoverage, checkViewDead, delays, median } from '../src/view-analysis.js';
import type { ViewEvent } from '../src/view-watcher.js';
import type { Sample } from '../src/watcher.js';

// Samples every 100 ms from t = 0; `listed(t)` says which ids the one taken at t listed.
function samples(untilMs: number, listed: (at: number) => string[] | undefined): Sample[] {
  const all: Sample[] = [];
  for (let at = 0; at <= untilMs; at += 100) {
    const ids = listed(at);
    all.push({ startedAt: at, at, ids: ids && new Set(ids) });
  }
  return all;
}

const life = (id: string, goneAt?: number) => ({ id, firstListedAt: 0, goneAt });

describe('checkCoverage', () => {
  const restart = { downAt: 1000, backAt: 2000 };

  test('a view that kept every live instance through the restart passes', () => {
    const view = samples(5000, () => ['a', 'b']);
    const check = checkCoverage(restart, 4000, [life('a'), life('b')], view);
    expect(check).toMatchObject({ judged: 2, missing: [], incompleteSamples: 0, lastMissingMs: null });
  });

  test('find() failing during the outage and listing a partial fleet after it is seen', () => {
    const find = samples(5000, (at) =>
      at < 1000 ? ['a', 'b'] : at < 2000 ? undefined : at < 2500 ? ['a'] : ['a', 'b'],
    );
    const check = checkCoverage(restart, 4000, [life('a'), life('b')], find);
    expect(check.missing).toEqual(['a', 'b']);
    expect(check.failedSamples).toBe(10);
    expect(check.incompleteSamples).toBe(5);
    expect(check.lastMissingMs).toBe(1400);
  });

  test('a removed event of a live instance counts even when no sample caught it', () => {
    const view = samples(5000, () => ['a']);
    const events: ViewEvent[] = [
      { at: 2050, type: 'removed', id: 'a', reason: 'guard-released' },
      { at: 2060, type: 'added', id: 'a' },
    ];
    const check = checkCoverage(restart, 4000, [life('a')], view, events);
    expect(check).toMatchObject({ missing: ['a'], removals: 1, lastMissingMs: 1050 });
  });

  test('an instance killed during the window is judged only while it lived', () => {
    const view = samples(5000, (at) => (at < 1500 ? ['a', 'k'] : ['a']));
    const events: ViewEvent[] = [{ at: 1500, type: 'removed', id: 'k', reason: 'expired' }];
    const check = checkCoverage(restart, 4000, [life('a'), life('k', 1200)], view, events);
    expect(check).toMatchObject({ judged: 2, missing: [], removals: 0 });
  });
});

describe('checkViewDead', () => {
  const listed: ViewEvent[] = [{ at: 0, type: 'added', id: 'a' }];

  test('removed at its expiry is within ttl + 1 s; later is a violation unless loose', () => {
    const onTime = [...listed, { at: 3500, type: 'removed', id: 'a', reason: 'expired' } as const];
    const late = [...listed, { at: 5500, type: 'removed', id: 'a', reason: 'expired' } as const];
    const kill = [{ id: 'a', killedAt: 500 }];
    expect(checkViewDead(kill, onTime, 4000, 10_000, () => false)[0]).toMatchObject({
      removedAfterMs: 3000,
      violated: false,
    });
    expect(checkViewDead(kill, late, 4000, 10_000, () => false)[0]?.violated).toBe(true);
    expect(checkViewDead(kill, late, 4000, 10_000, () => true)[0]).toMatchObject({
      strict: false,
      violated: false,
    });
  });

  test('never removed is a violation; an instance the view did not hold is not judged', () => {
    expect(checkViewDead([{ id: 'a', killedAt: 500 }], listed, 4000, 10_000, () => false)[0]?.violated).toBe(
      true,
    );
    expect(checkViewDead([{ id: 'b', killedAt: 500 }], listed, 4000, 10_000, () => false)).toEqual([]);
  });
});

test('delays: from the instance moment to the first matching event at or after notBefore', () => {
  const events: ViewEvent[] = [
    { at: 90, type: 'added', id: 'a' },
    { at: 300, type: 'removed', id: 'a', reason: 'deregistered' },
  ];
  expect(delays([{ id: 'a', at: 100, notBefore: 50 }], events, 'added')).toEqual([
    { id: 'a', ms: -10, reason: undefined },
  ]);
  expect(delays([{ id: 'a', at: 290, notBefore: 250 }], events, 'removed')).toEqual([
    { id: 'a', ms: 10, reason: 'deregistered' },
  ]);
  expect(delays([{ id: 'x', at: 0, notBefore: 0 }], events, 'added')).toEqual([]);
});

test('median', () => {
  expect(median([])).toBeNull();
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 2, 3])).toBe(2.5);
});
