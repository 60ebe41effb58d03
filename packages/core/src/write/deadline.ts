import { RegistryError } from '../errors.js';
import type { Clock } from '../runtime.js';

/** Shortest deadline a write gets, in ms, however little time the record has left. */
const MIN_WRITE_DEADLINE_MS = 50;

/**
 * How long a write may take: the time the live record has left (the whole ttl when none is live),
 * less a tenth of the ttl (at most 1 s). Past it the record has expired anyway.
 */
export function writeDeadlineMs(liveForMs: number, ttlMs: number): number {
  const left = liveForMs > 0 ? liveForMs : ttlMs;
  return Math.max(MIN_WRITE_DEADLINE_MS, left - Math.min(1000, ttlMs / 10));
}

/**
 * Waits for `operation` at most `deadlineMs`, then rejects with `store-unavailable`: the failure must
 * show in `health()` and `refresh-failed` now, not when a slow store finally answers. The operation
 * itself cannot be recalled; `onLate` runs if it succeeds after the deadline.
 */
export async function withDeadline<T>(
  operation: Promise<T>,
  deadlineMs: number,
  clock: Clock,
  storeName: string,
  onLate: () => void,
): Promise<T> {
  let timer: unknown;
  let late = false;
  operation.then(
    () => {
      if (late) onLate();
    },
    () => {},
  );
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => {
      late = true;
      reject(
        new RegistryError(
          'store-unavailable',
          `${storeName} store: no answer to the refresh within ${Math.round(deadlineMs)} ms, before the record expires`,
        ),
      );
    }, deadlineMs);
  });
  try {
    return await Promise.race([operation, deadline]);
  } finally {
    clock.clearTimeout(timer);
  }
}
