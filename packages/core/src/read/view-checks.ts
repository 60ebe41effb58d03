import type { ResolvedOptions } from '../options.js';
import type { ServiceProbe } from '../store.js';
import type { ResolvedDiscoveryOptions } from './view-options.js';
import type { ServiceState } from './view-state.js';

/** The view's clockwork, from the registry's ttl and interval and the view's poll. */
export interface ViewTiming {
  /** How long before a deadline the store is asked: longer than any read should take. */
  readonly leadMs: number;
  /** A deadline read from the store this close to it is settled: no unseen refresh can move it. */
  readonly settleMs: number;
  /** Live records refreshed on schedule expire at least this long after a read. */
  readonly horizonMs: number;
  /** One hold of the guard: the time live instances take to write themselves back. */
  readonly holdMs: number;
  /** Between reads while the store does not answer. */
  readonly retryMs: number;
}

export function viewTiming(options: ResolvedOptions, view: ResolvedDiscoveryOptions): ViewTiming {
  const { intervalMs, ttlMs, jitter } = options;
  const leadMs = Math.max(20, Math.min(1000, intervalMs / 4));
  const settleMs = leadMs * 2;
  return {
    leadMs,
    settleMs,
    horizonMs: Math.max(settleMs * 2, ttlMs - intervalMs * (1 + jitter)),
    holdMs: Math.round(intervalMs * (1 + jitter)),
    retryMs: Math.max(20, Math.min(1000, view.pollMs)),
  };
}

/** When a service must next be asked about its expiries, or Infinity. */
export function nextCheckAt(state: ServiceState, settleMs: number): number {
  let next = Number.POSITIVE_INFINITY;
  if (state.guard !== undefined) next = state.guard.until;
  if (state.recheckAt !== undefined) next = Math.min(next, state.recheckAt);
  for (const [, held] of state.watched()) {
    const unsettled = held.noExpiry || held.deadline - held.readAt > settleMs;
    if (unsettled) next = Math.min(next, held.deadline - settleMs);
  }
  return next;
}

/**
 * Services to ask about now: an unsettled deadline within the settle time, a recheck, a hold's end.
 * When any is due, every service due within half a horizon joins it, so one probe serves them all
 * and they stay aligned afterwards.
 */
export function dueChecks(states: Iterable<ServiceState>, now: number, timing: ViewTiming): ServiceState[] {
  const next = [...states].map((state) => ({ state, at: nextCheckAt(state, timing.settleMs) }));
  if (!next.some((entry) => entry.at <= now)) return [];
  const window = now + timing.horizonMs / 2;
  return next.filter((entry) => entry.at <= window).map((entry) => entry.state);
}

/** The earliest settled deadline held: when local expiry must run. */
export function settledWake(state: ServiceState, settleMs: number): number {
  let wake = Number.POSITIVE_INFINITY;
  for (const [, held] of state.watched()) {
    const settled = !held.noExpiry && held.deadline - held.readAt <= settleMs;
    if (settled) wake = Math.min(wake, held.deadline);
  }
  return wake;
}

/**
 * Learns refreshed expiries from a probe (the counter's reset is the caller's to judge); true when
 * the service must be re-listed.
 */
export function learnProbe(
  state: ServiceState,
  result: ServiceProbe,
  readAt: number,
  horizonMs: number,
  storeOffsetMs: number,
): boolean {
  const moved = state.changes !== undefined && state.changes !== result.changes;
  state.changes = result.changes;
  const expiring = new Map<string, number>();
  for (const entry of result.expiring) expiring.set(entry.instanceId, entry.expiresInMs);
  let watched = 0;
  for (const [id, held] of state.watched()) {
    watched++;
    const left = expiring.get(id);
    const deadline = left !== undefined ? readAt + left : Math.max(held.deadline, readAt + horizonMs);
    state.setDeadline(held, deadline, storeOffsetMs);
    held.readAt = readAt;
  }
  state.checkedAt = readAt;
  // The store holds as many as the view: this counter is a baseline deletions are counted from.
  if (watched === result.count && state.guard === undefined) state.listedChanges = result.changes;
  return moved || watched !== result.count;
}
