import { type FoundRedis, findRedis } from '@service-registry/redis-testing';

/**
 * The Redis for the importing test file (see `findRedis`). `undefined` means none was found outside
 * CI: the file registers `skipped(label)` instead of its suites. Under CI=true `findRedis` throws.
 */
export const redis: FoundRedis | undefined = await findRedis();
