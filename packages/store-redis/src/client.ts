import { Redis, type RedisOptions } from 'ioredis';

/** A value ioredis sends as a command argument. */
export type RedisArgument = string | number;

/** The part of an ioredis pipeline the store uses. */
export interface RedisPipelineLike {
  call(command: string, ...args: RedisArgument[]): unknown;
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/** The part of an ioredis connection the store's subscriber uses. */
export interface RedisSubscriberLike {
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close' | 'ready', listener: () => void): unknown;
  disconnect(): void;
}

/** One node of a Cluster, as ioredis `cluster.nodes('master')` returns them. */
export interface RedisNodeLike {
  call(command: string, ...args: RedisArgument[]): Promise<unknown>;
}

/**
 * What the store needs of a client: an ioredis `Redis` (standalone or Sentinel) or `Cluster`, v5 or
 * v6, satisfies it. Typed narrowly so the store does not pin one ioredis version's types.
 */
export interface RedisClientLike {
  call(command: string, ...args: RedisArgument[]): Promise<unknown>;
  /**
   * `call` with bulk replies as bytes (ioredis `callBuffer`): a snapshot is read so, sparing the long
   * string a text reply would make. Without it the store reads the snapshot as text.
   */
  callBuffer?(command: string, ...args: RedisArgument[]): Promise<unknown>;
  pipeline(): RedisPipelineLike;
  /** A new connection with the same options, for SUBSCRIBE (`watch`). */
  duplicate(): RedisSubscriberLike;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** A Cluster's master connections: the apicrud layout SCANs each of them. */
  nodes?(role: 'master'): readonly RedisNodeLike[];
  /** True on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  /** ioredis' connection state (`ready`, `reconnecting`, ...): `close()` only QUITs a ready connection. */
  readonly status?: string;
  /**
   * A single connection's socket (ioredis `Redis.stream`): a routine refresh corks it around its three
   * commands so they leave in one write. Absent on a Cluster.
   */
  readonly stream?: { cork?: () => void; uncork?: () => void };
  /** A Cluster's slot table: the node keys (`host:port`) serving each slot, master first. */
  readonly slots?: readonly (readonly string[])[];
  readonly options?: { readonly keyPrefix?: string | undefined };
}

/**
 * Defaults for a connection the store opens from `url`, chosen so that an outage surfaces as a
 * `store-unavailable` error within about two seconds instead of queueing commands for minutes:
 * the registry's own loop retries with backoff, so the client need not.
 */
export const ownedConnectionDefaults = {
  /** Give up a connection attempt after 3 s (ioredis: 10 s). */
  connectTimeout: 3_000,
  /** Reject a command with no reply after 5 s, even while reconnecting (ioredis: never). */
  commandTimeout: 5_000,
  /** Fail queued commands after one failed reconnect beyond the first (ioredis: 20). */
  maxRetriesPerRequest: 1,
  /** Reconnect after 100, 200, 400 ... ms, at most 1 s apart (ioredis: up to 5 s). */
  retryStrategy: (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 1_000),
} satisfies RedisOptions;

/** Opens the store's own connection: `ownedConnectionDefaults`, then the caller's options. */
export function openConnection(url: string | undefined, options: RedisOptions): Redis {
  const merged: RedisOptions = { ...ownedConnectionDefaults, ...options };
  // The store's connection watch listens to `error` events (see connection.ts): failures reach callers
  // as rejected operations naming the last one, so ioredis need not print them.
  return url === undefined ? new Redis(merged) : new Redis(url, merged);
}
