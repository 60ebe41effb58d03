import { RegistryError } from '@service-registry/core';
import type { RedisOptions } from 'ioredis';
import type { RedisClientLike } from './client.js';

/** What a URL or options say about where the store connects, for checks and error messages. */
export interface ConnectionTarget {
  /** `127.0.0.1:6379`, `/run/redis.sock`, `sentinels 10.0.0.2:26379 (master mymaster)`. */
  readonly where: string;
  /** The host name, when one is given: named when it does not resolve. */
  readonly host?: string | undefined;
  /** The database the URL or `db` option selects (0 when none). */
  readonly db: number;
}

const SCHEMES = ['redis:', 'rediss:'];

/**
 * The options `redisStore` knows: its own and ioredis' (v5 and v6, with the socket options it
 * passes on). A key close to one of them but not one (`conectTimeout`) is refused with a hint; a key
 * far from all is passed on to ioredis untouched, since ioredis may know options this list does not.
 */
export const REDIS_STORE_OPTION_KEYS: readonly string[] = [
  'url',
  'client',
  'host',
  'port',
  'path',
  'family',
  'db',
  'username',
  'password',
  'tls',
  'keyPrefix',
  'connectionName',
  'connectTimeout',
  'commandTimeout',
  'socketTimeout',
  'disconnectTimeout',
  'blockingTimeout',
  'blockingTimeoutGrace',
  'maxRetriesPerRequest',
  'maxLoadingRetryTime',
  'retryStrategy',
  'reconnectOnError',
  'keepAlive',
  'noDelay',
  'lazyConnect',
  'readOnly',
  'stringNumbers',
  'enableReadyCheck',
  'enableOfflineQueue',
  'enableAutoPipelining',
  'autoPipeliningIgnoredCommands',
  'autoResubscribe',
  'autoResendUnfulfilledCommands',
  'showFriendlyErrorStack',
  'scripts',
  'protocol',
  'disableClientInfo',
  'clientInfoTag',
  'Connector',
  'sentinels',
  'name',
  'role',
  'sentinelUsername',
  'sentinelPassword',
  'sentinelTLS',
  'sentinelRetryStrategy',
  'sentinelReconnectStrategy',
  'sentinelCommandTimeout',
  'sentinelMaxConnections',
  'preferredSlaves',
  'natMap',
  'enableTLSForSentinelMode',
  'updateSentinels',
  'failoverDetector',
  'timeout',
  'localAddress',
  'localPort',
  'lookup',
  'autoSelectFamily',
];

function invalid(message: string): RegistryError {
  return new RegistryError('invalid-argument', `redisStore: ${message}`);
}

function parseDb(text: string, url: string): number {
  if (!/^\d{1,9}$/.test(text)) {
    throw invalid(`the database in ${JSON.stringify(url)} must be a number 0 or above (redis://host:port/0)`);
  }
  return Number(text);
}

/**
 * Checks a `url` before any connection is made: what can be known wrong without a server (not a URL,
 * another scheme, no host, a database that is not a number) is `invalid-argument` at once, instead of
 * a client that quietly connects somewhere else (ioredis treats `not-a-url` as a host name, and
 * `http://` as Redis). A database number the server lacks is only known at connect: see `verifyDb`.
 */
export function parseRedisUrl(url: unknown, dbOption?: number): ConnectionTarget {
  if (typeof url !== 'string' || url.trim() === '') {
    throw invalid(
      url === undefined
        ? 'url is undefined (an unset environment variable?): pass a redis:// or rediss:// URL, host and port options without url, sentinels, or a client'
        : `url must be a non-empty string such as redis://127.0.0.1:6379/0, got ${url === '' ? 'an empty string' : typeof url}`,
    );
  }
  if (url.startsWith('/')) return { where: url, db: dbOption ?? 0 }; // a Unix socket path, as ioredis accepts it
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(
      `${JSON.stringify(url)} is not a URL: expected redis://[user:password@]host[:port][/db] or rediss://...`,
    );
  }
  if (!SCHEMES.includes(parsed.protocol)) {
    const hint =
      parsed.protocol === 'https:' || parsed.protocol === 'http:'
        ? ' (an Upstash REST URL belongs to @service-registry/store-upstash)'
        : '';
    throw invalid(`the scheme of ${redact(parsed)} is ${parsed.protocol} not redis: or rediss:${hint}`);
  }
  if (parsed.hostname === '') throw invalid(`${redact(parsed)} names no host: redis://host:port`);
  const path = parsed.pathname.replace(/^\//, '');
  // A `db` option wins over the URL's, as in ioredis.
  const db = dbOption ?? (path === '' ? 0 : parseDb(path, redact(parsed)));
  if (!Number.isInteger(db) || db < 0) throw invalid(`db must be an integer 0 or above, got ${String(db)}`);
  const port = parsed.port === '' ? '6379' : parsed.port;
  return { where: `${parsed.hostname}:${port}`, host: parsed.hostname.replace(/^\[|\]$/g, ''), db };
}

/** The URL without its password, for messages. */
function redact(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== '') copy.password = '***';
  return copy.href;
}

/** Where options without a URL connect (ioredis' defaults: 127.0.0.1:6379); only when some are given. */
export function optionsTarget(options: RedisOptions): ConnectionTarget {
  const given = ['host', 'port', 'path', 'sentinels'].some(
    (key) => (options as Record<string, unknown>)[key] !== undefined,
  );
  if (!given) {
    throw invalid(
      'no connection given: pass { url: "redis://host:port/db" }, host and port, sentinels, or a client ' +
        '(it no longer means localhost by default)',
    );
  }
  const db = options.db ?? 0;
  if (!Number.isInteger(db) || db < 0) throw invalid(`db must be an integer 0 or above, got ${String(db)}`);
  if (options.sentinels !== undefined && options.sentinels !== null) {
    const list = options.sentinels.map((s) => `${s.host ?? '127.0.0.1'}:${s.port ?? 26379}`).join(', ');
    return { where: `sentinels ${list} (master ${options.name ?? '?'})`, db };
  }
  if (options.path !== undefined) return { where: options.path, db };
  const host = options.host ?? '127.0.0.1';
  return { where: `${host}:${options.port ?? 6379}`, host, db };
}

/** Where an injected client connects, as far as its options say. */
export function clientTarget(client: RedisClientLike): ConnectionTarget {
  const options = (client.options ?? {}) as { host?: string; port?: number; path?: string; db?: number };
  if (client.isCluster === true) return { where: 'the cluster', db: 0 };
  if (typeof options.path === 'string') return { where: options.path, db: options.db ?? 0 };
  const host = options.host ?? '127.0.0.1';
  return { where: `${host}:${options.port ?? 6379}`, host, db: options.db ?? 0 };
}

type Coded = Error & { code?: unknown };

/** Why a connection failed, in words: refused, not resolvable, timed out, authentication, ... */
export function explain(error: unknown, target: ConnectionTarget, options: RedisOptions = {}): string {
  if (!(error instanceof Error)) return `${target.where}: ${String(error)}`;
  const code = typeof (error as Coded).code === 'string' ? ((error as Coded).code as string) : '';
  const message = error.message;
  const host = target.host ?? target.where;
  if (code === 'ECONNREFUSED')
    return `connection to ${target.where} refused (ECONNREFUSED): nothing listens there`;
  if (code === 'ENOTFOUND') return `host ${host} is not resolvable (ENOTFOUND)`;
  if (code === 'EAI_AGAIN') return `host ${host} could not be resolved now (EAI_AGAIN)`;
  if (code === 'ETIMEDOUT' || /connect ETIMEDOUT/.test(message)) {
    return `connecting to ${target.where} timed out after ${options.connectTimeout ?? 10_000} ms`;
  }
  if (/Command timed out/.test(message)) {
    return `${target.where} did not answer within ${options.commandTimeout ?? '?'} ms (commandTimeout)`;
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return `connection to ${target.where} was reset (${code})`;
  if (/NOAUTH|WRONGPASS|invalid password|invalid username-password|AUTH failed/i.test(message)) {
    return `authentication to ${target.where} failed (${message}): check the user and password`;
  }
  if (/DB index is out of range|invalid DB index/i.test(message)) {
    return `database ${target.db} does not exist on ${target.where} (${message})`;
  }
  if (/Unknown RESP type|Protocol error/i.test(message)) {
    return `${target.where} does not speak the Redis protocol (${message}): an HTTP or TLS port?`;
  }
  if (/SSL|TLS|wrong version number|certificate/i.test(message)) {
    return `TLS with ${target.where} failed (${message})`;
  }
  return `${target.where}: ${message}${code === '' ? '' : ` (${code})`}`;
}

/**
 * Errors that say only that a command gave up (the client's retry limit, a closed or offline
 * connection): the connection's own last error says why, so it is named instead.
 */
export function isGenericFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|Reached the max retries/.test(error.message)
  );
}

/** A connection's record of its last failure, kept from the client's `error` events. */
export interface ConnectionWatch {
  readonly target: ConnectionTarget;
  readonly options: RedisOptions;
  /** The last `error` event since the last successful command, if any. */
  lastError(): Error | undefined;
  /** A failure no retry can fix (a database the server lacks): every operation reports it. */
  fatal(): Error | undefined;
  /** Called when a command succeeded: the last error is history. */
  ok(): void;
  /**
   * Once per store, before the first operation: a database other than 0 must exist (see `verifyDb`).
   * Undefined once checked, so the operations that follow await nothing.
   */
  ready(): Promise<void> | undefined;
}

/**
 * Listens to the `error` events of a connection the store opened (keeping the last one, to name it when a command fails
 * with a generic error) and, for a connection the store opened on a database other than 0, checks
 * once that the server has it: ioredis reports a failed SELECT only as an `error` event and then
 * carries on in database 0, so a typo like `/99` would silently share another database.
 */
export function watchConnection(
  client: RedisClientLike,
  target: ConnectionTarget,
  options: RedisOptions,
  owned: boolean,
): ConnectionWatch {
  let last: Error | undefined;
  let fatalError: Error | undefined;
  let verified = !owned || target.db === 0;
  // Only on a connection the store opened: a listener on a client the caller owns would stop ioredis
  // from printing its errors, which the caller may rely on.
  if (owned) {
    client.on('error', (error: Error) => {
      last = error;
      if (/DB index is out of range|invalid DB index/i.test(error.message)) fatalError ??= error;
    });
  }
  return {
    target,
    options,
    lastError: () => last,
    fatal: () => fatalError,
    ok: () => {
      last = undefined;
    },
    ready() {
      if (fatalError) return Promise.reject(fatalError);
      return verified ? undefined : verify();
    },
  };

  async function verify(): Promise<void> {
    // SELECT of the database the connection already uses changes nothing when it exists.
    try {
      await client.call('SELECT', target.db);
      verified = true;
    } catch (error) {
      if (error instanceof Error && /DB index is out of range|invalid DB index/i.test(error.message)) {
        fatalError = error;
      }
      throw error;
    }
  }
}
