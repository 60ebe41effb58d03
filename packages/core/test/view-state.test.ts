import { expect, test } from 'vitest';
import { type ReconcileContext, ServiceState } from '../src/read/view-state.js';
import type { Instance } from '../src/record.js';

// How a re-read judges records that vanished with their deadline already past: a known expiry (a read
// confirmed the deadline just before it) is removed; one that lapsed while the store could not be read,
// or that no read confirmed, proves no death and is held for one interval.

const instance = (id: string, expiresAt: number): Instance => ({
  name: 'api',
  id,
  info: { endpoints: [], ipv4: null, port: 80, publicUrl: `http://${id}.test`, created: '' } as never,
  status: 'up',
  meta: {},
  expiresAt,
});

const context = (now: number, extra: Partial<ReconcileContext> = {}): ReconcileContext => ({
  now,
  noExpiryDeadline: now + 3000,
  storeOffsetMs: 0,
  expiryGraceMs: 250,
  guardShare: 0.5,
  holdUntil: now + 1000,
  holdAll: false,
  settleMs: 500,
  ...extra,
});

function stateWith(entries: { id: string; deadline: number; readAt: number }[]): ServiceState {
  const state = new ServiceState('api');
  for (const { id, deadline, readAt } of entries) {
    state.held.set(id, { instance: instance(id, deadline), deadline, readAt, noExpiry: false });
  }
  return state;
}

test('a deadline a read confirmed just before it passed is an expiry', () => {
  const state = stateWith([
    { id: 'a', deadline: 10_000, readAt: 9_700 },
    { id: 'b', deadline: 20_000, readAt: 9_700 },
    { id: 'c', deadline: 20_000, readAt: 9_700 },
  ]);
  const outcome = state.reconcile([instance('b', 20_000), instance('c', 20_000)], context(10_100));
  expect(outcome.changes).toMatchObject([{ kind: 'removed', reason: 'expired' }]);
  expect(outcome.held).toBe(0);
});

test('a deadline no read confirmed (a read hung across it) is held, then released if still gone', () => {
  const state = stateWith([
    { id: 'a', deadline: 10_000, readAt: 7_000 },
    { id: 'b', deadline: 20_000, readAt: 9_700 },
  ]);
  const outcome = state.reconcile([instance('b', 20_000)], context(10_100));
  expect(outcome).toMatchObject({ changes: [], held: 1 });
  expect(state.isGuarded('a')).toBe(true);
  const later = state.reconcile([instance('b', 20_000)], context(11_200));
  expect(later.changes).toMatchObject([{ kind: 'removed', reason: 'guard-released' }]);
});

test('deadlines that passed while the view was stale are held; the guard off removes them', () => {
  const entries = [{ id: 'a', deadline: 10_000, readAt: 9_700 }];
  const held = stateWith(entries).reconcile([], context(12_000, { unseenSince: 9_800 }));
  expect(held).toMatchObject({ changes: [], held: 1 });
  const off = stateWith(entries).reconcile([], context(12_000, { unseenSince: 9_800, guardShare: 1 }));
  expect(off.changes).toMatchObject([{ kind: 'removed', reason: 'expired' }]);
});

test('a moved deadline is handed out as the instance expiresAt, in store time; no change of content', () => {
  const state = stateWith([{ id: 'a', deadline: 10_000, readAt: 9_700 }]);
  const before = state.all();
  const held = state.held.get('a');
  if (held === undefined) throw new Error('not held');
  // The store's clock runs 250 ms ahead: a local deadline of 14 000 is 14 250 in store time.
  state.setDeadline(held, 14_000, 250);
  expect(held.deadline).toBe(14_000);
  expect(state.all()).not.toBe(before);
  expect(state.all()[0]?.expiresAt).toBe(14_250);
  const same = state.all();
  state.setDeadline(held, 14_000, 250);
  expect(state.all()).toBe(same);
  // A re-read of the record with its old expiry keeps the later deadline, and reports nothing.
  const outcome = state.reconcile([instance('a', 10_000)], context(11_000, { storeOffsetMs: 250 }));
  expect(outcome.changes).toEqual([]);
  expect(state.all()[0]?.expiresAt).toBe(14_250);
});

test('vanishings the change counter explains are deregistrations, whatever their share', () => {
  const entries = ['a', 'b', 'c', 'd'].map((id) => ({ id, deadline: 20_000, readAt: 9_700 }));
  // Without the counter's word, three of four gone at once look like a lost store: held.
  const guessed = stateWith(entries);
  expect(guessed.vanishing([instance('a', 20_000)], 10_000, 250)).toBe(3);
  expect(guessed.reconcile([instance('a', 20_000)], context(10_000)).held).toBe(3);
  // With it (the counter moved by at least three, no reset), they left: removed at once.
  const explained = stateWith(entries);
  const outcome = explained.reconcile([instance('a', 20_000)], context(10_000, { explained: true }));
  expect(outcome.held).toBe(0);
  expect(outcome.changes.map((change) => change.kind === 'removed' && change.reason)).toEqual([
    'deregistered',
    'deregistered',
    'deregistered',
  ]);
  // A record that lapsed while the store was unseen is still held beside them.
  const mixed = stateWith([...entries.slice(0, 3), { id: 'd', deadline: 10_000, readAt: 7_000 }]);
  const both = mixed.reconcile([instance('a', 20_000)], context(10_100, { explained: true }));
  expect(both.held).toBe(1);
  expect(mixed.isGuarded('d')).toBe(true);
  expect(both.changes.filter((change) => change.kind === 'removed')).toHaveLength(2);
});

test('on the read that ends an outage, a minority vanished is held too, unless the counter explains it', () => {
  const entries = ['a', 'b', 'c', 'd'].map((id) => ({ id, deadline: 20_000, readAt: 9_700 }));
  const back = ['a', 'b', 'c'].map((id) => instance(id, 20_000));
  // One of four missing (the rest wrote themselves back first): on an ordinary read, a deregistration.
  const ordinary = stateWith(entries);
  expect(ordinary.reconcile(back, context(10_000)).changes).toMatchObject([{ reason: 'deregistered' }]);
  // Right after the store could not be seen (it may have restarted empty), held for one interval.
  const after = stateWith(entries);
  const outcome = after.reconcile(back, context(10_000, { unseenSince: 9_800 }));
  expect(outcome.held).toBe(1);
  expect(outcome.changes).toEqual([]);
  // The change counter moved without a reset: it was deleted while the view could not see the store.
  const counted = stateWith(entries);
  const explained = counted.reconcile(back, context(10_000, { unseenSince: 9_800, explained: true }));
  expect(explained.changes).toMatchObject([{ reason: 'deregistered' }]);
});

test('where the store probes, a list never settles a deadline: a late-landed write expires only once a probe says so', () => {
  // A write computed before an outage lands after it: its record claims an expiry 300 ms away,
  // while the store keeps it a full ttl from landing. Read by a list, that claim is not settled.
  const state = new ServiceState('api');
  state.reconcile([instance('a', 10_300)], context(10_000, { listSettles: false }));
  expect(state.expire(10_400, 500)).toEqual([]);
  // The same read where lists are all there is (no probe) settles it: removed at its expiry.
  const plain = new ServiceState('api');
  plain.reconcile([instance('a', 10_300)], context(10_000));
  expect(plain.expire(10_400, 500)).toMatchObject([{ kind: 'removed', reason: 'expired' }]);
});

test('a counter that jumps further than any run of changes looks reset, even when young', async () => {
  const { looksReset } = await import('../src/read/view-judge.js');
  // Created again after a flush 0.4 s after the first one: 400,000 µs on, under COUNTER_RESET_LEAP.
  expect(looksReset(1_700_000_000_000_000, 1_700_000_000_400_001)).toBe(true);
  expect(looksReset(1_700_000_000_000_000, 1_700_000_000_000_012)).toBe(false);
  expect(looksReset(1_700_000_000_000_000, 1_699_999_999_999_999)).toBe(true);
  expect(looksReset(undefined, 5)).toBe(false);
});
