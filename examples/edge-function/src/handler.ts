import {
  type DiscoveryView,
  isRegistryError,
  type RegisterOptions,
  RegistryError,
  ServiceRegistry,
} from '@service-registry/core';
import { createDiscoveryHandler, type DiscoveryHandler } from '@service-registry/http';
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
  /** Bearer token of the discovery API, at least 16 characters. Required: the API reveals the registry. */
  REGISTRY_HTTP_TOKEN?: string;
  /** `true` serves `GET /v1/url-map` without the token (what a browser UI needs). Default false. */
  PUBLIC_URL_MAP?: string;
  /** Seconds between the view's polls of Upstash while the isolate runs. Default 5. */
  REGISTRY_POLL_INTERVAL?: string;
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

/** What one isolate keeps between requests: its registry, what it registers, and its view once registered. */
interface Isolate {
  readonly registry: ServiceRegistry;
  readonly resources: string[];
  readonly registration: RegisterOptions;
  readonly token: string;
  readonly publicUrlMap: boolean;
  readonly pollInterval: number;
  registered?: Promise<unknown>;
  view?: DiscoveryView;
  discovery?: DiscoveryHandler;
}

/**
 * A fetch handler, `{ fetch(request, env) }`, as Cloudflare Workers (and Vercel and Netlify, see
 * docs/upstash.md) call it. Every request refreshes this instance's record (no timer: a function is
 * frozen between requests); the answer comes from `@service-registry/http`'s discovery handler over the
 * isolate's discovery view: `/v1/url-map`, `/v1/services[/:service[/:id]]`, `/v1/events`, `/metrics`
 * and the dashboard at `/`, every data route behind the bearer token `REGISTRY_HTTP_TOKEN`.
 */
export function createHandler() {
  let isolate: Isolate | undefined;

  function start(env: Env, origin: string): Isolate {
    const ttl = Number(setting(env, 'REGISTRY_TTL', '60'));
    const publicUrl = setting(env, 'PUBLIC_URL', origin);
    const token = setting(env, 'REGISTRY_HTTP_TOKEN');
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
      token,
      publicUrlMap: setting(env, 'PUBLIC_URL_MAP', 'false') === 'true',
      pollInterval: Number(setting(env, 'REGISTRY_POLL_INTERVAL', '5')),
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
   * with `update()`: one request. A store failure here is reported in `health()` (and `/metrics`), never thrown.
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

  /** The view starts after the first registration, so its first load finds this instance too. */
  function discoveryOf(current: Isolate): DiscoveryHandler {
    if (current.discovery === undefined) {
      current.view = current.registry.discovery({ pollInterval: current.pollInterval });
      current.discovery = createDiscoveryHandler({
        view: current.view,
        token: current.token,
        publicUrlMap: current.publicUrlMap,
        registry: current.registry,
        title: `service registry: ${current.registration.serviceName}`,
      });
    }
    return current.discovery;
  }

  async function fetch(request: Request, env: Env = processEnv()): Promise<Response> {
    let current: Isolate;
    try {
      isolate ??= start(env, new URL(request.url).origin);
      current = isolate;
    } catch (error) {
      return json(500, { error: describeError(error) });
    }
    // The first request registers before it answers; later ones refresh beside the answer.
    const refreshing = refresh(current);
    if (current.view === undefined) await refreshing.catch(() => {});
    const [refreshed, response] = await Promise.allSettled([refreshing, discoveryOf(current)(request)]);
    // Anything but a store failure is a configuration error (a bad RESOURCES entry, say).
    if (refreshed.status === 'rejected') return json(500, { error: describeError(refreshed.reason) });
    if (response.status === 'rejected') return json(500, { error: describeError(response.reason) });
    return response.value;
  }

  return { fetch };
}

export default createHandler();
