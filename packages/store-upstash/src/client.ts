import { RegistryError } from '@service-registry/core';
import { Redis } from '@upstash/redis';

/** One command's outcome in a pipeline run with `exec({ keepErrors: true })`. */
export interface UpstashPipelineReply {
  readonly result?: unknown;
  readonly error?: string | undefined;
}

/** The part of an `@upstash/redis` pipeline the store uses. */
export interface UpstashPipelineLike {
  evalsha(sha1: string, keys: string[], args: string[]): unknown;
  /** `EVALSHA_RO`, for the read-only list scripts. */
  evalshaRo(sha1: string, keys: string[], args: string[]): unknown;
  /** The apicrud layout's reads (`MGET` of the keys a SCAN found). */
  mget(keys: string[]): unknown;
  exec(options: { keepErrors: true }): Promise<readonly UpstashPipelineReply[]>;
}

/**
 * What the store needs of a client: an `@upstash/redis` `Redis` (any entry: default, `/cloudflare`,
 * `/fastly`) satisfies it. Create it with `automaticDeserialization: false`; see `upstashClientDefaults`.
 */
export interface UpstashClientLike {
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /** `EVALSHA_RO` / `EVAL_RO`: the list scripts only read, so a full database still answers them. */
  evalshaRo(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  evalRo(script: string, keys: string[], args: string[]): Promise<unknown>;
  pipeline(): UpstashPipelineLike;
  // Plain keys, no scripts: the apicrud layout's `SET ... EX`, `DEL` and `SCAN`, and the native
  // layout's service snapshots, `SET ... PX`.
  set(key: string, value: string, options: { ex: number } | { px: number }): Promise<unknown>;
  del(...keys: string[]): Promise<unknown>;
  scan(cursor: string, options: { match: string; count: number }): Promise<unknown>;
  /** Redis `TIME`; without it the store declares no `time` capability and registries use local clocks. */
  time?(): Promise<unknown>;
  /** Redis `GET` of one record or snapshot; without it the store declares no `get` nor `snapshot`. */
  get?(key: string): Promise<unknown>;
}

/** Options of the client the store creates from `url` and `token`. */
export interface UpstashConnectionOptions {
  /** The REST URL, `UPSTASH_REDIS_REST_URL` (e.g. `https://eu1-xyz.upstash.io`). */
  url: string;
  /** The REST token, `UPSTASH_REDIS_REST_TOKEN`. */
  token: string;
  /** Milliseconds one operation may take, retries included, before it fails. Default 5000. */
  timeoutMs?: number;
  /** Extra attempts after a request that never reached Upstash (a dropped connection). Default 1. */
  retries?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRIES = 1;

/**
 * The settings the store gives a client it creates, and the ones to give a client you pass in:
 * raw strings (JSON parsing would turn an instance id `true` or `1e3` into something else), one
 * request per operation, no telemetry headers. Add a deadline and bounded retries:
 * `signal: () => AbortSignal.timeout(ms)` (a function: a fixed signal makes the client resolve
 * `null` instead of failing once it fires) and `retry: { retries: 1 }` (`retry: false` still makes
 * two attempts; the default is six attempts over about 4 s).
 */
export const upstashClientDefaults = {
  automaticDeserialization: false,
  enableAutoPipelining: false,
  enableTelemetry: false,
} as const;

function assertText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RegistryError('invalid-argument', `${what} must be a non-empty string`);
  }
  if (value.trim() !== value) {
    throw new RegistryError('invalid-argument', `${what} has leading or trailing whitespace`);
  }
}

function assertCount(value: number, what: string, minimum: number, maximum: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw new RegistryError(
      'invalid-argument',
      `${what} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`,
    );
  }
}

/** Refuses what cannot be an Upstash REST URL, saying what it is instead. */
function assertRestUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RegistryError(
      'invalid-argument',
      `url ${JSON.stringify(url)} is not a URL: expected the REST URL, https://<name>.upstash.io`,
    );
  }
  if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') {
    throw new RegistryError(
      'invalid-argument',
      `url has the scheme ${parsed.protocol} of a Redis TCP URL: this store speaks REST, so it needs the ` +
        'database REST URL (https://<name>.upstash.io); a redis:// URL belongs to @service-registry/store-redis',
    );
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.hostname === '') {
    throw new RegistryError(
      'invalid-argument',
      `url must be an http(s) URL with a host, got ${parsed.protocol}//…`,
    );
  }
}

/** Creates the client `upstashStore({ url, token })` owns, with `upstashClientDefaults`. */
export function createClient(options: UpstashConnectionOptions): UpstashClientLike {
  const { url, token, timeoutMs = DEFAULT_TIMEOUT_MS, retries = DEFAULT_RETRIES } = options;
  if (url === undefined) {
    throw new RegistryError(
      'invalid-argument',
      'url is undefined (UPSTASH_REDIS_REST_URL not set?): pass the database REST URL, https://<name>.upstash.io',
    );
  }
  assertText(url, 'url');
  assertText(token, 'token');
  assertRestUrl(url);
  assertCount(timeoutMs, 'timeoutMs', 1, 600_000);
  assertCount(retries, 'retries', 0, 10);
  try {
    return new Redis({
      url,
      token,
      ...upstashClientDefaults,
      // A function: the client calls it per request, so each request gets its own deadline.
      signal: () => AbortSignal.timeout(timeoutMs),
      retry: { retries, backoff: (attempt) => Math.min(50 * 2 ** attempt, 1_000) },
    });
  } catch (error) {
    throw new RegistryError('invalid-argument', `the Upstash client refused its options: ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Refuses a client that parses replies as JSON. `@upstash/redis` keeps its options in `opts`; a
 * client that does not (a custom one) is taken at its word.
 */
export function assertRawStrings(client: UpstashClientLike): void {
  const options = (client as { opts?: { automaticDeserialization?: boolean } }).opts;
  if (typeof options === 'object' && options !== null && options.automaticDeserialization !== false) {
    throw new RegistryError(
      'invalid-argument',
      'the Upstash client parses replies as JSON; create it with `automaticDeserialization: false` ' +
        '(see upstashClientDefaults), or pass url and token and let the store create one',
    );
  }
}
