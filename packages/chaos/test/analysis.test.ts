import { describe, expect, test } from 'vitest';
import { checkDead, checkRecovery, findGaps, splitFailures } from '../src/analysis.js';
import type { Sample } from '../src/watcher.js';

// Samples every 100 ms from t = 0; `listed(t)` says which ids the one ending at t listed.
function samples(untilMs: number, listed: (at: number) => string[] | undefined): Sample[] {
  const all: Sample[] = [];
  for (let at = 0; at <= untilMs; at += 100) {
    const ids = listed(at);
    all.push({ startedAt: at - 5, at, ids: ids && new Set(ids) });
  }
  return all;
}

describe('checkDead', () => {
  test('within the bound: listed until just before ttl + 1 s', () => {
    const observer = samples(10_000, (at) => (at <= 3900 ? ['a'] : []));
    const [check] = checkDead([{ id: 'a', killedAt: 0 }], observer, [], 4000, 10_000);
    expect(check).toMatchObject({ listedAfterKillMs: 3900, goneByMs: 4000, violated: false });
  });

  test('past the bound, also when only the second reader saw it', () => {
    const observer = samples(10_000, (at) => (at <= 3000 ? ['a'] : []));
    const other: Sample[] = [{ startedAt: 4300, at: 4400, ids: new Set(['a']) }];
    const [check] = checkDead([{ id: 'a', killedAt: 0 }], observer, other, 4000, 10_000);
    expect(check).toMatchObject({ listedAfterKillMs: 4400, violated: true });
  });

  test('a kill too close to the end of the observation is not judged', () => {
    expect(checkDead([{ id: 'a', killedAt: 8000 }], [], [], 4000, 10_000)).toEqual([]);
  });
});

describe('checkRecovery', () => {
  const restart = { downAt: 1000, backAt: 2000 };
  const life = (id: string, goneAt?: number) => ({ id, firstListedAt: 0, goneAt });

  test('back within the bound', () => {
    const observer = samples(6000, (at) =>
      at < 1000 ? ['a'] : at < 2000 ? undefined : at >= 3500 ? ['a'] : [],
    );
    const [check] = checkRecovery(restart, [life('a')], observer, 2000, 100);
    expect(check).toMatchObject({ missingUntilMs: 1400, backByMs: 1500, violated: false });
  });

  test('seen missing past the bound is a violation; never back is one too', () => {
    const observer = samples(8000, (at) => (at < 1000 ? ['a', 'b'] : at >= 4200 ? ['a'] : []));
    const checks = checkRecovery(restart, [life('a'), life('b')], observer, 2000, 100);
    expect(checks.map((check) => check.violated)).toEqual([true, true]);
    expect(checks[1]?.backByMs).toBeNull();
  });

  test('instances killed before the bound ran out, or first listed after the outage began, are skipped', () => {
    const observer = samples(6000, () => []);
    const lives = [life('killed', 3000), { id: 'late', firstListedAt: 1500, goneAt: undefined }];
    expect(checkRecovery(restart, lives, observer, 2000, 100)).toEqual([]);
  });
});

test('findGaps reports a live instance missing outside restarts, not during them', () => {
  const restart = { downAt: 5000, backAt: 5200 };
  const observer = samples(9000, (at) =>
    (at >= 2000 && at < 3000) || (at >= 5000 && at < 6000) ? [] : ['a'],
  );
  const gaps = findGaps([{ id: 'a', firstListedAt: 0, goneAt: undefined }], observer, [restart], 2000);
  expect(gaps).toEqual([{ id: 'a', fromAt: 1900, toAt: 3000, ms: 1100 }]);
});

test('splitFailures tells failures an outage explains from the rest', () => {
  const observer = samples(5000, (at) => (at === 1000 || at === 4000 ? undefined : []));
  expect(splitFailures(observer, [{ downAt: 900, backAt: 1100 }], 500)).toEqual({
    total: 2,
    duringOutages: 1,
    outside: 1,
  });
});
