import { type DiscoveryView, type Logger, RegistryError, silentLogger } from '@service-registry/core';
import type { CorsOptions } from './cors.js';
import type { MetricsRegistry } from './metrics.js';

/** Options of `createDiscoveryHandler`. */
export interface DiscoveryHandlerOptions {
  /** The discovery view to serve (`registry.discovery(...)` or `createDiscovery(...)`). Required. */
  readonly view: DiscoveryView;
  /**
   * Bearer token(s) a request must carry (`Authorization: Bearer <token>`), at least 16 characters;
   * a list accepts each (rotation). Required: the answers reveal what the encryption protects.
   */
  readonly token: string | readonly string[];
  /** Serve `GET /v1/url-map` without a token (what a browser UI needs, and nothing else). Default false. */
  readonly publicUrlMap?: boolean;
  /** Origins allowed to read answers from a browser. Default none (no CORS headers). */
  readonly cors?: CorsOptions;
  /** This process's registry: adds its refresh failures and registration to `/metrics`. Default none. */
  readonly registry?: MetricsRegistry;
  /** Path the routes live under, e.g. `/registry`. Default `''` (the root). */
  readonly basePath?: string;
  /** Serve the dashboard page at `<basePath>/`. The page holds no data: it asks the API with the token. Default true. */
  readonly dashboard?: boolean;
  /** Title of the dashboard page. Default `service registry`. */
  readonly title?: string;
  /** Seconds a blocking query waits when it gives no `wait`. Default 30. */
  readonly defaultWait?: number;
  /** Longest `wait` of a blocking query, seconds; longer ones are cut to it. Default 300. */
  readonly maxWait?: number;
  /** Seconds between SSE heartbeat comments. Default 15. */
  readonly heartbeat?: number;
  /** Seconds a request waits for the view's first load before `503 not-ready`. Default 5. */
  readonly readyTimeout?: number;
  /** Receives unexpected errors (their details never reach the client). Default silent. */
  readonly logger?: Logger;
}

export interface ResolvedHandlerOptions {
  view: DiscoveryView;
  tokens: readonly string[];
  publicUrlMap: boolean;
  cors: CorsOptions | undefined;
  registry: MetricsRegistry | undefined;
  basePath: string;
  dashboard: boolean;
  title: string;
  defaultWaitMs: number;
  maxWaitMs: number;
  heartbeatMs: number;
  readyTimeoutMs: number;
  logger: Logger;
}

/** Shortest accepted token, in characters: long enough that guessing is hopeless. */
export const MIN_TOKEN_LENGTH = 16;

const invalid = (message: string) => new RegistryError('invalid-argument', message);

function seconds(
  value: number | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback * 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${name} must be a number of seconds from ${min} to ${max}, got ${String(value)}`);
  }
  return value * 1000;
}

function resolveTokens(token: unknown): string[] {
  const tokens = typeof token === 'string' ? [token] : Array.isArray(token) ? [...token] : undefined;
  if (tokens === undefined || tokens.length === 0) {
    throw invalid(
      'token is required: a bearer token of at least 16 characters (the endpoint reveals the registry)',
    );
  }
  for (const item of tokens) {
    if (typeof item !== 'string' || item.length < MIN_TOKEN_LENGTH || /\s/.test(item)) {
      throw invalid(`every token must be a string of at least ${MIN_TOKEN_LENGTH} characters without spaces`);
    }
  }
  return tokens;
}

export function resolveHandlerOptions(options: DiscoveryHandlerOptions): ResolvedHandlerOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { view } = options;
  if (typeof view?.snapshot !== 'function' || typeof view?.changed !== 'function') {
    throw invalid('view must be a DiscoveryView (registry.discovery() or createDiscovery())');
  }
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(basePath)) {
    throw invalid(`basePath must start with / and hold only URL path characters, got ${basePath}`);
  }
  const origins = options.cors?.origins;
  if (options.cors !== undefined && origins !== '*' && !Array.isArray(origins)) {
    throw invalid("cors.origins must be a list of origins or '*'");
  }
  const maxWaitMs = seconds(options.maxWait, 'maxWait', 300, 0, 3600);
  return {
    view,
    tokens: resolveTokens(options.token),
    publicUrlMap: options.publicUrlMap === true,
    cors: options.cors,
    registry: options.registry,
    basePath,
    dashboard: options.dashboard !== false,
    title: options.title ?? 'service registry',
    defaultWaitMs: seconds(options.defaultWait, 'defaultWait', 30, 0, 3600),
    maxWaitMs,
    heartbeatMs: seconds(options.heartbeat, 'heartbeat', 15, 0.05, 3600),
    readyTimeoutMs: seconds(options.readyTimeout, 'readyTimeout', 5, 0, 600),
    logger: options.logger ?? silentLogger,
  };
}
