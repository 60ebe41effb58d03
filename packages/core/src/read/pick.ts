import { RegistryError } from '../errors.js';
import type { Instance } from '../record.js';
import { describe } from '../validate.js';
import type { PickOptions, PickStrategy } from './view-types.js';

const STRATEGIES: ReadonlySet<string> = new Set<PickStrategy>([
  'round-robin',
  'random',
  'least-outstanding',
  'hash',
]);

/** Points per instance on the hash ring: enough that keys spread within a few percent. */
const RING_POINTS = 32;

/** The checked options of one pick. */
export interface PickRequest {
  readonly strategy: PickStrategy;
  readonly key: string | undefined;
}

const DEFAULT_REQUEST: PickRequest = { strategy: 'round-robin', key: undefined };

/** Validates `pick`/`lease` options; `undefined` (the hot path) costs nothing. */
export function readPickOptions(options: PickOptions | undefined): PickRequest {
  if (options === undefined) return DEFAULT_REQUEST;
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError('invalid-argument', `pick options must be an object, got ${describe(options)}`);
  }
  for (const name in options) {
    if (name !== 'strategy' && name !== 'key') {
      throw new RegistryError(
        'invalid-argument',
        `unknown pick option ${JSON.stringify(name)}; known: strategy, key`,
      );
    }
  }
  const strategy = options.strategy ?? 'round-robin';
  if (typeof strategy !== 'string' || !STRATEGIES.has(strategy)) {
    throw new RegistryError(
      'invalid-argument',
      `strategy must be one of ${[...STRATEGIES].join(', ')}, got ${describe(strategy)}`,
    );
  }
  const key = options.key;
  if (strategy === 'hash') {
    if (typeof key !== 'string' || key.length === 0) {
      throw new RegistryError(
        'invalid-argument',
        `the hash strategy needs a non-empty string key, got ${describe(key)}`,
      );
    }
  } else if (key !== undefined) {
    throw new RegistryError('invalid-argument', `key is only used by the hash strategy, not ${strategy}`);
  }
  return { strategy, key };
}

/** FNV-1a over UTF-16 code units, then murmur3's finalizer so nearby strings land far apart. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

interface Ring {
  readonly points: Uint32Array;
  readonly owners: Instance[];
}

/**
 * Picks among one service's `up` instances. The caller passes the current `up` list (sorted by id,
 * replaced by a new array whenever it changes), so caches here are keyed by that array's identity.
 */
export class Picker {
  #cursor = 0;
  #ring: Ring | undefined;
  #ringFor: readonly Instance[] | undefined;

  pick(up: readonly Instance[], request: PickRequest, outstanding: (instance: Instance) => number): Instance {
    const count = up.length;
    if (count === 1) return up[0] as Instance;
    switch (request.strategy) {
      case 'round-robin': {
        const chosen = up[this.#cursor % count] as Instance;
        this.#cursor = (this.#cursor + 1) % 0x7fffffff;
        return chosen;
      }
      case 'random':
        return up[Math.floor(Math.random() * count)] as Instance;
      case 'least-outstanding': {
        // Power of two choices: two distinct instances at random, the less loaded wins (ties: the first).
        const first = Math.floor(Math.random() * count);
        let second = Math.floor(Math.random() * (count - 1));
        if (second >= first) second++;
        const left = up[first] as Instance;
        const right = up[second] as Instance;
        return outstanding(right) < outstanding(left) ? right : left;
      }
      case 'hash':
        return this.#onRing(up, request.key as string);
    }
  }

  /**
   * Consistent hashing: each instance owns `RING_POINTS` points on a 32-bit ring and a key goes to the
   * owner of the first point at or after its hash. When an instance comes or goes, only the keys of
   * its own points move. Built once per change of the `up` list, then a binary search per pick.
   */
  #onRing(up: readonly Instance[], key: string): Instance {
    if (this.#ringFor !== up || this.#ring === undefined) {
      const entries: { point: number; owner: Instance }[] = [];
      for (const instance of up) {
        for (let replica = 0; replica < RING_POINTS; replica++) {
          entries.push({ point: hashString(`${instance.id}#${replica}`), owner: instance });
        }
      }
      entries.sort((left, right) => left.point - right.point || (left.owner.id < right.owner.id ? -1 : 1));
      this.#ring = {
        points: Uint32Array.from(entries, (entry) => entry.point),
        owners: entries.map((entry) => entry.owner),
      };
      this.#ringFor = up;
    }
    const { points, owners } = this.#ring;
    const target = hashString(key);
    let low = 0;
    let high = points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((points[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return owners[low === points.length ? 0 : low] as Instance;
  }
}
