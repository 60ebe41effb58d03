import type { DiscoveryView } from '@service-registry/core';

/** Most distinct keys remembered: a namespace full of garbage must not grow the handler's memory. */
const MAX_KEYS = 1000;

/**
 * The distinct records the view has skipped since the handler started, with the last reason for each:
 * what the dashboard lists. The view's own counter (`stats().rejectedRecords`) counts every skip, so it
 * grows with each re-read of the same bad record. Records skipped only for having expired are left
 * out: they are no misconfiguration.
 */
export function rejectedLog(view: DiscoveryView): () => { key: string; reason: string }[] {
  const reasons = new Map<string, string>();
  view.on('rejected-record', ({ key, reason }) => {
    if (reason === 'expired') return;
    reasons.delete(key);
    if (reasons.size >= MAX_KEYS) reasons.delete(reasons.keys().next().value as string);
    reasons.set(key, reason);
  });
  return () =>
    [...reasons]
      .map(([key, reason]) => ({ key, reason }))
      .sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
}
