import {
  type FindResult,
  isRegistryError,
  type RegisterOptions,
  RegistryError,
  ServiceRegistry,
} from '@service-registry/core';
import { upstashStore } from '@service-registry/store-upstash';

/**
 * The function's settings: a Worker's `env` bindings, or `process.env` where the platform has it
 * (Vercel, Netlify, Node). Only the Upstash credentials and the secret are required.
 */
export interface Env {
  /** The database's REST URL (Upstash console; on Vercel also `KV_REST_API_URL`). */
  UPSTASH_REDIS_REST_URL?: string;
  /** The database's REST token (on Vercel also `KV_REST_API_TOKEN`). */
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** The fleet's shared secret, at least 16 characters. */
  REGISTRY_SECRET?: string;
  /** Default `edge-function`. */
  SERVICE_NAME?: string;
  /** Resources this function serves, comma-separated. Default `greetings`. */
  RESOURCES?: string;
  /** The public URL of the function. Default: the origin of the request that registers it. */
  PUBLIC_URL?: string;
  /** Default `reg`, the namespace Node services on store-redis use too. */
  REGISTRY_NAMESPACE?: string;
  /** Seconds the record lives after the last request. Default 60. */
  REGISTRY_TTL?: string;
  /** Default: a random id per isolate (each warm copy of the function is one instance). */
  INSTANCE_ID?: string;
  [name: string]: unknown;
}

/** What one isolate keeps between requests: its registry, what it registers, and whether it has. */
interface Isolate {
  readonly registry: ServiceRegistry;
  readonly resources: string[];
  readonly registration: RegisterOptions;
  registered?: Promise<unknown>;
}

function setting(env: Env, name: keyof Env & string, fallback?: string): string {
  const value = env[name];
  if (typeof value === 'string' && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new RegistryError('invalid-argument', `${name} is not set`);
}

function processEnv(): Env {
  return ((globalThis as { process?: { env?: Env } }).process?.env ?? {}) as Env;
}

const json = (status: number, body: unknown): Response =>
  new Response(`${JSON.stringify(body, null, 2)}\n`, {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });

const describeError = (error: unknown) =>
  isRegistryError(error)
    ? { code: error.code, message: error.message }
    : { code: 'internal', message: String(error) };

/**
 * A fetch handler, `{ fetch(request, env) }`, as Cloudflare Workers (and Vercel and Netlify, see
 * docs/upstash.md) call it. Every request refreshes this instance's record (no timer: a function is
 * frozen between requests) and answers with `find()` as JSON; `?service=name` narrows it.
 */
export function createHandler() {
  let isolate: Isolate | undefined;

  function start(env: Env, origin: string): Isolate {
    const ttl = Number(setting(env, 'REGISTRY_TTL', '60'));
    const publicUrl = setting(env, 'PUBLIC_URL', origin);
    const registry = new ServiceRegistry({
      store: upstashStore.fromEnv({ env, timeoutMs: 3_000 }),
      secret: setting(env, 'REGISTRY_SECRET'),
      publicUrl,
      namespace: setting(env, 'REGISTRY_NAMESPACE', 'reg'),
      ttl,
      // Unused without the refresh loop; ttl must still be at least twice it.
      interval: ttl / 2,
    });
    const { port, protocol } = new URL(publicUrl);
    return {
      registry,
      resources: setting(env, 'RESOURCES', 'greetings')
        .split(',')
        .map((resource) => resource.trim())
        .filter(Boolean),
      registration: {
        serviceName: setting(env, 'SERVICE_NAME', 'edge-function'),
        instanceId: setting(env, 'INSTANCE_ID', crypto.randomUUID()),
        port: Number(port) || (protocol === 'http:' ? 80 : 443),
        refresh: false,
      },
    };
  }

  /**
   * The isolate's first request registers (one write, no timer); every later one rewrites the record
   * with `update()`: one request. A store failure here is reported in `health()`, never thrown.
   */
  async function refresh(current: Isolate): Promise<void> {
    if (current.registered === undefined) {
      current.registered = current.registry.register(current.resources, current.registration);
      await current.registered;
      return;
    }
    await current.registered;
    await current.registry.update().catch((error: unknown) => {
      if (!isRegistryError(error, 'store-unavailable')) throw error;
    });
  }

  async function fetch(request: Request, env: Env = processEnv()): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== '/')
      return json(404, { error: { code: 'not-found', message: `no route ${url.pathname}` } });
    let current: Isolate;
    try {
      isolate ??= start(env, url.origin);
      current = isolate;
    } catch (error) {
      return json(500, { error: describeError(error) });
    }
    const { registry } = current;
    const service = url.searchParams.get('service') ?? undefined;
    // The first request registers before it looks, so it finds itself; later ones refresh and look
    // at once (two requests in flight, one round trip of latency).
    const firstRequest = current.registered === undefined;
    const refreshing = refresh(current);
    if (firstRequest) await refreshing.catch(() => {});
    const [refreshed, found] = await Promise.allSettled([refreshing, registry.find(service)]);
    // Anything but a store failure is a configuration error (a bad RESOURCES entry, say).
    if (refreshed.status === 'rejected') return json(500, { error: describeError(refreshed.reason) });
    if (found.status === 'rejected') {
      const status = isRegistryError(found.reason, 'invalid-name') ? 400 : 503;
      return json(status, { error: describeError(found.reason) });
    }
    const self = registry.get();
    const health = registry.health();
    const result: FindResult = found.value;
    return json(200, {
      self: self && { name: self.name, id: self.id, status: self.status, expiresAt: self.expiresAt },
      refreshed: health.ok ? true : describeError(health.lastError),
      ...result,
    });
  }

  return { fetch };
}

export default createHandler();
