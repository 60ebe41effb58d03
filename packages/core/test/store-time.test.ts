import { describe, expect, it } from 'vitest';
import { type Clock, type Logger, type RegistryStore, StoreTime } from '../src/index.js';

/** A store that only tells time: `answer` decides what it says and how long the round trip lasts. */
function timeStore(clock: { now: number }, answer: () => { storeTime: number; tripMs: number }) {
  const store = {
    name: 'clock-only',
    capabilities: { watch: false, nativeExpiry: false, time: true },
    async time() {
      const { storeTime, tripMs } = answer();
      clock.now += tripMs;
      return storeTime;
    },
  } as unknown as RegistryStore;
  return store;
}

function setup(answer: (now: number) => { storeTime: number; tripMs: number }) {
  const state = { now: 1_000_000 };
  const clock: Clock = {
    now: () => state.now,
    setTimeout: ((fn: () => void, ms: number) => setTimeout(fn, ms)) as Clock['setTimeout'],
    clearTimeout: ((timer: unknown) => clearTimeout(timer as NodeJS.Timeout)) as Clock['clearTimeout'],
  };
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message: string) => warnings.push(message),
    error() {},
  };
  const time = new StoreTime(
    timeStore(state, () => answer(state.now)),
    clock,
    logger,
  );
  return { state, time, warnings };
}

describe('StoreTime', () => {
  it('a slow answer does not replace a tight estimate, raises no skew warning, and is retried soon', async () => {
    let trip = 2;
    let ahead = 0;
    // The store's clock equals this host's; a slow answer's reply waited 8 s behind a busy loop, so
    // its midpoint makes the host look 4 s ahead.
    const { state, time, warnings } = setup((now) => ({ storeTime: now + 1 + ahead, tripMs: trip }));
    await time.refresh();
    expect(time.health().offsetMs).toBe(0);
    state.now += 31_000;
    trip = 8_000;
    await time.refresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(time.health()).toMatchObject({ offsetMs: 0, uncertaintyMs: 1, skewed: false });
    expect(warnings).toEqual([]);
    // Measured again 2 s later, not 30 s later (the store's clock has moved 100 ms meanwhile).
    trip = 2;
    ahead = 100;
    state.now += 2_001;
    await time.refresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(time.health().offsetMs).toBe(100);
  });

  it('slow answers in a row are measured again after 2, 4, 8, 16 and then 30 s; a quick one resets that', async () => {
    let trip = 2;
    let calls = 0;
    const { state, time } = setup((now) => {
      calls++;
      return { storeTime: now + 1, tripMs: trip };
    });
    await time.refresh();
    trip = 8_000;
    state.now += 31_000;
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
    await time.refresh();
    await settle();
    // The wait before each next measurement, found by stepping the clock one second at a time.
    const waits: number[] = [];
    for (let round = 0; round < 6; round++) {
      const before = calls;
      let waited = 0;
      while (calls === before && waited < 60_000) {
        state.now += 1_000;
        waited += 1_000;
        await time.refresh();
        await settle();
      }
      waits.push(waited);
    }
    // Each slow answer itself takes 8 s of the clock: the wait is counted from its reply.
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    trip = 2;
    state.now += 31_000;
    await time.refresh();
    await settle();
    trip = 8_000;
    state.now += 31_000;
    await time.refresh();
    await settle();
    const before = calls;
    state.now += 2_000;
    await time.refresh();
    await settle();
    expect(calls).toBe(before + 1);
  });

  it('without a better one, a slow answer is used, and skew is reported only beyond its own uncertainty', async () => {
    const { time, warnings } = setup((now) => ({ storeTime: now - 3_000 + 500, tripMs: 1_000 }));
    await time.refresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Offset -3 s, uncertainty 0.5 s: proven skew.
    expect(time.health()).toMatchObject({ offsetMs: -3_000, uncertaintyMs: 500, skewed: true });
    expect(warnings).toHaveLength(1);
  });

  it('a skew its round trip could explain is not reported', async () => {
    const { time, warnings } = setup((now) => ({ storeTime: now, tripMs: 3_000 }));
    await time.refresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(time.health().offsetMs).toBe(-1_500);
    expect(warnings).toEqual([]);
  });
});
