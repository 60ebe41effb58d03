import type { RecordCodec, SecretInput } from './codec/codec.js';
import { apicrudCodec, gcmCodec } from './codec/index.js';
import { RegistryError } from './errors.js';
import { storeForLayout } from './layout.js';
import type { InstanceStatus } from './record.js';
import { type Clock, type Logger, silentLogger, systemClock } from './runtime.js';
import type { RegistryStore } from './store.js';
import {
  assertBaseUrl,
  assertKnownOptions,
  assertName,
  assertSeconds,
  describe,
  MAX_INTERVAL_SECONDS,
  normalizePublicUrl,
  readArgument,
} from './validate.js';

/** Options of `new ServiceRegistry(...)`. */
/** When a warm reader checks a refreshed `g2` value's expiry MAC (`RegistryOptions.expiryCheck`). */
export type ExpiryCheck = 'halfway' | 'every-change';

export interface RegistryOptions {
  /** Where records live (memory, Redis, Upstash, ...). Required. */
  store: RegistryStore;
  /** At least 16 characters, or a list (the first encrypts, all decrypt). Required unless `codec` is an object. */
  secret?: SecretInput;
  /** Public base URL of this instance, e.g. `https://api.example.com`. Required to `register()`. */
  publicUrl?: string;
  /** Path appended to `publicUrl` in the url map: empty or starting with `/`, e.g. `/api/v1`. Default `''`. */
  baseUrl?: string;
  /** Seconds a record stays alive without a refresh. Default 30 (apicrud mode: 60). */
  ttl?: number;
  /**
   * Seconds between refreshes; `ttl` must be at least twice this. Default 10 (apicrud mode: 30), or
   * half the `ttl` when that is shorter.
   */
  interval?: number;
  /** Key prefix separating registries in one store. Default `reg`. */
  namespace?: string;
  /** `gcm` (AES-256-GCM, default), `apicrud` (the Python seed's AES-CBC), or a codec object. */
  codec?: 'gcm' | 'apicrud' | RecordCodec;
  /**
   * `apicrud` reads and writes exactly what Python apicrud does: its key layout (the store must
   * declare it, else `unsupported`), the apicrud codec, its record fields (plus `name`, `id` and
   * `expires_at`, which apicrud's `find` passes through), ttl 60 s, interval 30 s, and no conflict
   * report for `metric`. Default `native`.
   */
  mode?: 'native' | 'apicrud';
  /** Fraction by which refresh delays vary at random, so a fleet does not refresh in lockstep. Default 0.1. */
  jitter?: number;
  /** Largest encoded record in bytes, refused on write and skipped on read. Default 65536. */
  maxRecordBytes?: number;
  /**
   * When `find` checks the MAC of a refreshed gcm `g2` value (same ciphertext, a new expiry) whose
   * record it has read before. `halfway` (default): once the expiry it last authenticated for the
   * record is half spent; until then such a value is answered from its cache with that expiry (no MAC
   * computed), so a find right after a routine refresh costs what a warm one does. A record never
   * lives past an expiry its writer wrote, an older value put back is checked at once, and a forged
   * expiry is never reported: it is rejected by the first find past the midpoint. `expiresAt` runs up
   * to half a lifetime behind the store's. `every-change`: every changed value is checked at once
   * (rejections are seen at once, and `expiresAt` is the store's).
   */
  expiryCheck?: ExpiryCheck;
  /**
   * Cold finds of a service with at least 64 records use the service's snapshot: one value the store
   * keeps beside the records (stores declaring `snapshot`: memory, Redis, Upstash), sealed by the codec
   * (gcm), holding what an earlier reader decoded. A reader that holds nothing of the service fetches
   * it with the listing and decrypts it instead of each record; a record counts only while the store
   * lists it with the very ciphertext the snapshot names, and its expiry is checked as a cached
   * record's is (`expiryCheck`). A cold find the snapshot did not serve (missing, stale, another
   * secret) writes a new one in the background (one value as large as the service's records, which
   * `close()` waits for). Default true; false neither reads nor writes them.
   */
  snapshots?: boolean;
  /** Resources for which two URLs are not reported as a conflict. Default none (apicrud mode: `metric`). */
  conflictExempt?: readonly string[];
  /** Receives debug/info/warn/error lines; never secrets or plaintext records. Default silent. */
  logger?: Logger;
  /** Time source and timers. Default the system clock, with `unref`'d timers. */
  clock?: Clock;
}

/** Options of `register()`. */
export interface RegisterOptions {
  /** The service's name: the middle part of the record key. Required. */
  serviceName: string;
  /** Unique per running instance, e.g. the hostname (see `@service-registry/core/node`). Required. */
  instanceId: string;
  /** Port the instance listens on, 1 to 65535. Required. */
  port: number;
  /** The instance's IPv4 address, or null when unknown. Default null. */
  ipv4?: string | null;
  /** String key/values for the instance (version, zone, ...). Default `{}`. */
  meta?: Record<string, string>;
  /** Initial status. Default `up`. */
  status?: InstanceStatus;
  /**
   * Start the refresh loop. Default true. Serverless functions pass false and call `update()` once per
   * invocation or from a schedule.
   */
  refresh?: boolean;
  /**
   * Gates the heartbeat: run before every refresh (and at `register`). When it returns false, throws
   * or exceeds `healthTimeout`, the record is rewritten at once as `down`; when it passes again, with
   * the registered status. Default none.
   */
  healthCheck?: () => boolean | undefined | Promise<boolean | undefined>;
  /** Seconds a health check may take before it counts as failed. Default half the interval, at most 5. */
  healthTimeout?: number;
  /**
   * At each refresh, check what this instance's key held just before, to detect another live process
   * writing the same service and instance id (`duplicate` event, a warning, `health()`). Free on stores
   * declaring `comparePrevious` (Redis, Upstash, memory: the put compares); elsewhere one read of the
   * key (`get`, else a listing of the service) at most once per ttl. Default true (apicrud mode:
   * false, its records carry no owner token).
   */
  detectDuplicates?: boolean;
}

/** Every option of `new ServiceRegistry(...)`: any other key is refused, naming the nearest. */
export const REGISTRY_OPTION_KEYS: readonly (keyof RegistryOptions)[] = [
  'store',
  'secret',
  'publicUrl',
  'baseUrl',
  'ttl',
  'interval',
  'namespace',
  'codec',
  'mode',
  'jitter',
  'maxRecordBytes',
  'expiryCheck',
  'snapshots',
  'conflictExempt',
  'logger',
  'clock',
];

/** Every option of `register()`. */
export const REGISTER_OPTION_KEYS: readonly (keyof RegisterOptions)[] = [
  'serviceName',
  'instanceId',
  'port',
  'ipv4',
  'meta',
  'status',
  'refresh',
  'healthCheck',
  'healthTimeout',
  'detectDuplicates',
];

export interface ResolvedOptions {
  /** The store's view for the mode's key layout. */
  store: RegistryStore;
  mode: 'native' | 'apicrud';
  codec: RecordCodec;
  publicUrl: string | undefined;
  baseUrl: string;
  ttlMs: number;
  intervalMs: number;
  namespace: string;
  jitter: number;
  maxRecordBytes: number;
  expiryCheck: ExpiryCheck;
  snapshots: boolean;
  conflictExempt: ReadonlySet<string>;
  logger: Logger;
  clock: Clock;
}

function resolveCodec(options: RegistryOptions, mode: 'native' | 'apicrud'): RecordCodec {
  const codec = options.codec ?? (mode === 'apicrud' ? 'apicrud' : 'gcm');
  if (typeof codec === 'object' && codec !== null) {
    if (typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new RegistryError('invalid-argument', 'a codec object needs encode and decode methods');
    }
    for (const optional of ['encodeRecord', 'decodeRecord', 'decodeRecordSync'] as const) {
      if (codec[optional] !== undefined && typeof codec[optional] !== 'function') {
        throw new RegistryError('invalid-argument', `the codec's ${optional} must be a function when given`);
      }
    }
    return codec;
  }
  if (options.secret === undefined) {
    throw new RegistryError(
      'invalid-secret',
      'secret is required: a string of at least 16 characters, or a list',
    );
  }
  if (codec === 'gcm') return gcmCodec(options.secret);
  if (codec === 'apicrud') return apicrudCodec(options.secret);
  throw new RegistryError(
    'invalid-argument',
    `codec must be 'gcm', 'apicrud' or a codec object, got ${describe(codec)}`,
  );
}

const hasMethods = (value: unknown, methods: readonly string[]): boolean =>
  (typeof value === 'object' || typeof value === 'function') &&
  value !== null &&
  methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');

export function resolveOptions(options: RegistryOptions): ResolvedOptions {
  return readArgument('the ServiceRegistry options', () => readOptions(options));
}

function readOptions(options: RegistryOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryError('invalid-argument', 'ServiceRegistry needs an options object');
  }
  assertKnownOptions(options, REGISTRY_OPTION_KEYS, 'ServiceRegistry option');
  const { store } = options;
  if (
    typeof store !== 'object' ||
    store === null ||
    typeof store.put !== 'function' ||
    typeof store.list !== 'function' ||
    typeof store.delete !== 'function' ||
    typeof store.capabilities !== 'object' ||
    store.capabilities === null
  ) {
    throw new RegistryError(
      'invalid-argument',
      'store must be a RegistryStore (capabilities, put, delete, list, close)',
    );
  }
  const mode = options.mode ?? 'native';
  if (mode !== 'native' && mode !== 'apicrud') {
    throw new RegistryError('invalid-argument', `mode must be 'native' or 'apicrud', got ${describe(mode)}`);
  }
  const ttl = options.ttl ?? (mode === 'apicrud' ? 60 : 30);
  assertSeconds(ttl, 'ttl', 0.1, 31_536_000);
  // Without an interval, a short ttl brings its own (half of it): a registry that never refreshes
  // (`refresh: false`, `update()` per invocation) need not name one. Both given: checked below.
  const interval = options.interval ?? Math.min(mode === 'apicrud' ? 30 : 10, ttl / 2);
  assertSeconds(interval, 'interval', 0.05, MAX_INTERVAL_SECONDS);
  if (ttl < 2 * interval) {
    throw new RegistryError(
      'invalid-argument',
      `ttl (${ttl} s) must be at least twice interval (${interval} s), so one lost refresh does not expire the record`,
    );
  }
  const namespace = options.namespace ?? 'reg';
  assertName(namespace, 'namespace');
  const baseUrl = options.baseUrl ?? '';
  assertBaseUrl(baseUrl);
  const publicUrl = options.publicUrl === undefined ? undefined : normalizePublicUrl(options.publicUrl);
  const jitter = options.jitter ?? 0.1;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 0.5)) {
    throw new RegistryError(
      'invalid-argument',
      `jitter must be a fraction from 0 to 0.5, got ${describe(jitter)}`,
    );
  }
  const maxRecordBytes = options.maxRecordBytes ?? 65_536;
  if (typeof maxRecordBytes !== 'number' || !Number.isInteger(maxRecordBytes) || maxRecordBytes < 512) {
    throw new RegistryError(
      'invalid-argument',
      `maxRecordBytes must be an integer of at least 512, got ${describe(maxRecordBytes)}`,
    );
  }
  const conflictExempt = options.conflictExempt ?? (mode === 'apicrud' ? ['metric'] : []);
  if (!Array.isArray(conflictExempt) || !conflictExempt.every((item) => typeof item === 'string')) {
    throw new RegistryError('invalid-argument', 'conflictExempt must be an array of resource names');
  }
  const expiryCheck = options.expiryCheck ?? 'halfway';
  if (expiryCheck !== 'halfway' && expiryCheck !== 'every-change') {
    throw new RegistryError('invalid-argument', 'expiryCheck must be "halfway" or "every-change"');
  }
  const snapshots = options.snapshots ?? true;
  if (typeof snapshots !== 'boolean') {
    throw new RegistryError(
      'invalid-argument',
      `snapshots must be true or false, got ${describe(snapshots)}`,
    );
  }
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  if (!hasMethods(logger, ['debug', 'info', 'warn', 'error'])) {
    throw new RegistryError('invalid-argument', 'logger must have debug, info, warn and error methods');
  }
  if (!hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    throw new RegistryError('invalid-argument', 'clock must have now, setTimeout and clearTimeout methods');
  }
  return {
    store: storeForLayout(store, mode),
    mode,
    codec: resolveCodec(options, mode),
    publicUrl,
    baseUrl,
    // Whole milliseconds: a fractional ttl gave fractional `expires_at` values whose encoded length
    // varies from write to write, so the size check at register could differ from a refresh's.
    ttlMs: Math.round(ttl * 1000),
    intervalMs: Math.round(interval * 1000),
    namespace,
    jitter,
    maxRecordBytes,
    expiryCheck,
    snapshots,
    conflictExempt: new Set(conflictExempt),
    logger,
    clock,
  };
}
