import { RegistryError } from './errors.js';

/** Longest service name, instance id, namespace or endpoint, in characters. */
export const MAX_NAME_LENGTH = 128;
/** Most endpoints one record may list. */
export const MAX_ENDPOINTS = 256;
/** Most meta entries one record may carry, and their size limits in characters. */
export const MAX_META_ENTRIES = 64;
export const MAX_META_KEY_LENGTH = 128;
export const MAX_META_VALUE_LENGTH = 1024;

// `:` separates key parts, `{}` are Redis Cluster hash tags, `*?[]\` are glob characters in SCAN patterns.
// An unpaired surrogate (`\p{Cs}` under the `u` flag) becomes U+FFFD in UTF-8, so two names would share a key.
const FORBIDDEN_NAME_CHARS = /[:{}*?[\]\\\s\p{Cc}\p{Cs}]/u;

export type NameKind = 'service name' | 'instance id' | 'namespace' | 'endpoint';

/** Throws `invalid-name` unless `value` can be one part of `<namespace>:<service>:<instanceId>`. */
export function assertName(value: unknown, kind: NameKind): asserts value is string {
  if (typeof value !== 'string') {
    throw new RegistryError('invalid-name', `${kind} must be a string, got ${describe(value)}`);
  }
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw new RegistryError(
      'invalid-name',
      `${kind} must be 1 to ${MAX_NAME_LENGTH} characters long, got ${value.length}`,
    );
  }
  const bad = FORBIDDEN_NAME_CHARS.exec(value);
  if (bad) {
    throw new RegistryError(
      'invalid-name',
      `${kind} ${JSON.stringify(value)} contains ${JSON.stringify(bad[0])}; ` +
        'colons, braces, glob characters (*?[]\\), whitespace, control characters and unpaired surrogates ' +
        'are not allowed',
    );
  }
}

/**
 * Runs `read` over a caller's object: a getter or proxy that throws is a bad argument, reported as
 * `invalid-argument` with the original error as `cause`, never as a bare TypeError.
 */
export function readArgument<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof RegistryError) throw cause;
    throw new RegistryError('invalid-argument', `could not read ${what}`, { cause });
  }
}

/**
 * Longest refresh or poll interval, in seconds (14 days). With jitter, longer delays overflow
 * `setTimeout` (2^31 - 1 ms), which then fires after 1 ms: a loop hammering the store.
 */
export const MAX_INTERVAL_SECONDS = 1_209_600;

export function isValidName(value: unknown): value is string {
  try {
    assertName(value, 'service name');
    return true;
  } catch {
    return false;
  }
}

export function assertEndpoints(value: unknown): asserts value is readonly string[] {
  if (!Array.isArray(value)) {
    throw new RegistryError(
      'invalid-argument',
      `endpoints must be an array of strings, got ${describe(value)}`,
    );
  }
  if (value.length > MAX_ENDPOINTS) {
    throw new RegistryError(
      'record-too-large',
      `a record may list at most ${MAX_ENDPOINTS} endpoints, got ${value.length}`,
    );
  }
  for (const endpoint of value) assertName(endpoint, 'endpoint');
  if (new Set(value).size !== value.length) {
    throw new RegistryError('invalid-argument', 'endpoints must not repeat');
  }
}

export function assertPort(value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new RegistryError(
      'invalid-argument',
      `port must be an integer from 1 to 65535, got ${describe(value)}`,
    );
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function assertIpv4(value: unknown): asserts value is string | null {
  if (value === null) return;
  if (typeof value !== 'string' || !IPV4.test(value)) {
    throw new RegistryError(
      'invalid-argument',
      `ipv4 must be a dotted-quad address like 10.0.0.7 or null, got ${describe(value)}`,
    );
  }
}

/** Throws unless `value` is an absolute http(s) URL; returns it without a trailing slash. */
export function normalizePublicUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    throw new RegistryError(
      'invalid-argument',
      `publicUrl must be an absolute http(s) URL of at most 2048 characters, got ${describe(value)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new RegistryError('invalid-argument', `publicUrl ${JSON.stringify(value)} is not a URL`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RegistryError('invalid-argument', `publicUrl must use http or https, got ${url.protocol}`);
  }
  return value.replace(/\/+$/, '');
}

export function assertBaseUrl(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length > 512 || /[\s\p{Cc}]/u.test(value)) {
    throw new RegistryError(
      'invalid-argument',
      `baseUrl must be a path string of at most 512 characters without whitespace, got ${describe(value)}`,
    );
  }
  // It is appended to publicUrl as is: 'v1' would turn https://a.example into https://a.examplev1.
  if (value !== '' && !value.startsWith('/')) {
    throw new RegistryError(
      'invalid-argument',
      `baseUrl must be empty or start with '/', got ${JSON.stringify(value)} (did you mean ${JSON.stringify(`/${value}`)}?)`,
    );
  }
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short names. */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const previous = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (previous[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * The known name closest to `name` (case-insensitive edit distance, at most a third of its length
 * and at least 2, or a stem of it), or undefined when none is close: for "did you mean ...?" hints.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    // A stem of a longer name (`retry` for `retries`, `timeout` for `timeoutMs`) counts as close.
    const stem = lower.length >= 4 && other.startsWith(lower.slice(0, -1));
    const d = stem ? 1 : distance(lower, other);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Throws `invalid-argument` for an own enumerable key of `options` that is not in `known`, naming the
 * nearest known one: a misspelt option (`intervall`) would otherwise be ignored without a word.
 * `what` names the options in the message, e.g. `ServiceRegistry option`. With `onlyNear`, a key far
 * from every known name is let through (for options passed on to a client with options of its own).
 */
export function assertKnownOptions(
  options: object,
  known: readonly string[],
  what: string,
  { onlyNear = false }: { onlyNear?: boolean } = {},
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = nearestName(key, known);
    if (near === undefined && onlyNear) continue;
    const list = near === undefined ? `; known: ${known.join(', ')}` : ` (did you mean ${near}?)`;
    throw new RegistryError('invalid-argument', `unknown ${what} ${JSON.stringify(key)}${list}`);
  }
}

export function assertMeta(value: unknown): asserts value is Readonly<Record<string, string>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('invalid-argument', `meta must be an object of strings, got ${describe(value)}`);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_META_ENTRIES) {
    throw new RegistryError(
      'record-too-large',
      `meta may have at most ${MAX_META_ENTRIES} entries, got ${entries.length}`,
    );
  }
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > MAX_META_KEY_LENGTH) {
      throw new RegistryError(
        'invalid-argument',
        `meta keys must be 1 to ${MAX_META_KEY_LENGTH} characters long`,
      );
    }
    if (typeof item !== 'string' || item.length > MAX_META_VALUE_LENGTH) {
      throw new RegistryError(
        'invalid-argument',
        `meta.${key} must be a string of at most ${MAX_META_VALUE_LENGTH} characters, got ${describe(item)}`,
      );
    }
  }
}

/** Throws unless `value` is a finite number of seconds within `[min, max]`. */
export function assertSeconds(
  value: unknown,
  name: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RegistryError(
      'invalid-argument',
      `${name} must be a number of seconds from ${min} to ${max}, got ${describe(value)}`,
    );
  }
}

/** A short description of a bad value for error messages; never the value of a secret. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value.length > 64 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined')
    return String(value);
  return `a value of type ${typeof value}`;
}
