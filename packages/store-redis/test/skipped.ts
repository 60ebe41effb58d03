import { describe, it } from 'vitest';

/** Registers a skipped suite, so a run without Redis shows what it did not test. */
export function skipped(label: string): void {
  describe.skip(`${label} (no Redis: see the notice above)`, () => {
    it('needs a Redis', () => {});
  });
}
