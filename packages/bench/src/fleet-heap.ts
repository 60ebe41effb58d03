import { getHeapSpaceStatistics } from 'node:v8';

/** The flag the fleet part's process runs with (fleet-child.ts): semi-spaces of up to 64 MiB. */
export const SEMI_SPACE_FLAG = '--max-semi-space-size=64';

/** The young generation's current size, MiB (V8's default grows it to 32 at most; the flag to 128). */
export function newSpaceMiB(): number {
  const space = getHeapSpaceStatistics().find((entry) => entry.space_name === 'new_space');
  return (space?.space_size ?? 0) / 1024 ** 2;
}
