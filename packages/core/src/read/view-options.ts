import { RegistryError } from '../errors.js';
import {
  REGISTRY_OPTION_KEYS,
  type RegistryOptions,
  type ResolvedOptions,
  resolveOptions,
} from '../options.js';
import { assertName, assertSeconds, describe, MAX_INTERVAL_SECONDS, readArgument } from '../validate.js';

/** Options of `registry.discovery()`; `createDiscovery()` takes these and the store options. */
export interface DiscoveryOptions {
  /** The services to hold, by name. Default every service of the namespace (new ones included). */
  services?: readonly string[];
  /**
   * Seconds between polls on stores that cannot push change notices (Upstash, Keyv). Default the
   * refresh interval (10 s). Stores that push are not polled.
   */
  pollInterval?: number;
  /**
   * Seconds the view keeps serving its last known content while the store cannot be read; past it
   * the view empties (reason `stale-bound`). Default the ttl (30 s): no record could outlive that.
   */
  maxStaleness?: number;
  /**
   * Share (0 to 1) of a service's held instances that may vanish in one re-read, none of them at its
   * expiry, before the view suspects a store restart and holds them for one refresh interval. 1
   * turns the guard off. Default 0.5.
   */
  guardShare?: number;
}

/**
 * Options of `createDiscovery()`: a read-only view without a registry. The store, codec, namespace and
 * mode options mean what they mean for `ServiceRegistry`; `ttl` and `interval` are the fleet's (they
 * set the defaults of `maxStaleness` and `pollInterval`, and how long the guard holds). No `publicUrl`:
 * the view registers nothing.
 */
export interface CreateDiscoveryOptions
  extends Omit<RegistryOptions, 'publicUrl' | 'jitter'>,
    DiscoveryOptions {}

export interface ResolvedDiscoveryOptions {
  /** Sorted, without duplicates; undefined for every service. */
  readonly services: readonly string[] | undefined;
  readonly pollMs: number;
  readonly maxStalenessMs: number;
  readonly guardShare: number;
}

const VIEW_KEYS: readonly string[] = ['services', 'pollInterval', 'maxStaleness', 'guardShare'];
/** The registry's options but those a view has no use for (`CreateDiscoveryOptions` omits them too). */
const STORE_KEYS: readonly string[] = REGISTRY_OPTION_KEYS.filter(
  (key) => key !== 'publicUrl' && key !== 'jitter',
);

function assertKnownKeys(options: object, known: readonly string[], what: string): void {
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new RegistryError(
        'invalid-argument',
        `unknown ${what} option ${JSON.stringify(name)}; known: ${known.join(', ')}`,
      );
    }
  }
}

/** Checks the view's own options against the registry's resolved ones. */
export function resolveDiscoveryOptions(
  options: DiscoveryOptions | undefined,
  registry: ResolvedOptions,
): ResolvedDiscoveryOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RegistryError(
      'invalid-argument',
      `discovery options must be an object, got ${describe(options)}`,
    );
  }
  const given = options;
  return readArgument('the discovery options', () => {
    assertKnownKeys(given, VIEW_KEYS, 'discovery');
    return readViewOptions(given, registry);
  });
}

function readViewOptions(options: DiscoveryOptions, registry: ResolvedOptions): ResolvedDiscoveryOptions {
  const { services, pollInterval, maxStaleness, guardShare } = options;
  let names: string[] | undefined;
  if (services !== undefined) {
    if (!Array.isArray(services) || services.length === 0) {
      throw new RegistryError(
        'invalid-argument',
        `services must be a non-empty array of service names (omit it for every service), got ${describe(services)}`,
      );
    }
    for (const name of services) assertName(name, 'service name');
    names = [...new Set<string>(services)].sort();
  }
  if (pollInterval !== undefined) assertSeconds(pollInterval, 'pollInterval', 0.01, MAX_INTERVAL_SECONDS);
  if (maxStaleness !== undefined) assertSeconds(maxStaleness, 'maxStaleness', 0.01, 31_536_000);
  if (guardShare !== undefined && (typeof guardShare !== 'number' || !(guardShare >= 0 && guardShare <= 1))) {
    throw new RegistryError(
      'invalid-argument',
      `guardShare must be a fraction from 0 to 1, got ${describe(guardShare)}`,
    );
  }
  return {
    services: names,
    pollMs: pollInterval === undefined ? registry.intervalMs : Math.round(pollInterval * 1000),
    maxStalenessMs: maxStaleness === undefined ? registry.ttlMs : Math.round(maxStaleness * 1000),
    guardShare: guardShare ?? 0.5,
  };
}

/** Splits `createDiscovery`'s options into the registry's and the view's, each checked. */
export function resolveStandaloneOptions(options: CreateDiscoveryOptions): {
  registry: ResolvedOptions;
  view: ResolvedDiscoveryOptions;
} {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new RegistryError(
      'invalid-argument',
      `createDiscovery needs an options object, got ${describe(options)}`,
    );
  }
  return readArgument('the createDiscovery options', () => {
    assertKnownKeys(options, [...STORE_KEYS, ...VIEW_KEYS], 'createDiscovery');
    const storePart: Record<string, unknown> = {};
    const viewPart: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(options)) {
      (VIEW_KEYS.includes(name) ? viewPart : storePart)[name] = value;
    }
    const registry = resolveOptions(storePart as unknown as RegistryOptions);
    return { registry, view: readViewOptions(viewPart as DiscoveryOptions, registry) };
  });
}
