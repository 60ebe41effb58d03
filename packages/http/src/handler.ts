import { assertAuthorized } from './auth.js';
import { servicesBody, snapshotBody } from './bodies.js';
import { createCors } from './cors.js';
import { dashboardPage } from './dashboard/page.js';
import { eventStream } from './events-stream.js';
import { metricsText, refreshFailureCounter } from './metrics.js';
import {
  type DiscoveryHandlerOptions,
  type ResolvedHandlerOptions,
  resolveHandlerOptions,
} from './options.js';
import { parseIndex, parseName, parseStatuses, parseWait } from './query.js';
import { rejectedLog } from './rejected.js';
import { errorResponse, HttpError, jsonResponse } from './respond.js';

/** A fetch-API handler: what Workers, Vercel Edge, Deno, Bun and the `./node` adapter call. */
export type DiscoveryHandler = (request: Request) => Promise<Response>;

const notFound = (path: string) => new HttpError(404, 'not-found', `no route ${path}`);

/**
 * Serves a discovery view over HTTP:
 *
 * | route | answer |
 * | --- | --- |
 * | `GET /v1/url-map` | resource -> public URL (public with `publicUrlMap: true`) |
 * | `GET /v1/services` | services with instance counts by status, conflicts, staleness |
 * | `GET /v1/services/:service?status=up,draining` | that service's instances |
 * | `GET /v1/services/:service/:id` | one instance, or 404 |
 * | `GET /v1/snapshot` | everything the view holds (the dashboard's source) |
 * | `GET /v1/events` | server-sent events: added, removed, updated, stale, fresh, ... |
 * | `GET /metrics` | Prometheus text format |
 * | `GET /` | the dashboard page |
 *
 * JSON routes carry an `ETag` (304 on `If-None-Match`) and the view's version in `X-Registry-Index`;
 * `?index=N&wait=30s` blocks until the version moves from N or the wait ends (Consul's blocking
 * queries). Everything but the dashboard page (and the url map, when public) needs the bearer token.
 */
export function createDiscoveryHandler(options: DiscoveryHandlerOptions): DiscoveryHandler {
  const resolved = resolveHandlerOptions(options);
  const { view, logger } = resolved;
  const cors = createCors(resolved.cors);
  const refreshFailures = refreshFailureCounter(resolved.registry);
  const rejected = rejectedLog(view);
  const page = resolved.dashboard ? dashboardPage(resolved.title, resolved.basePath) : undefined;
  let ready = false;
  view.ready.then(
    () => {
      ready = true;
    },
    () => {},
  );

  async function waitReady(): Promise<void> {
    if (ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, resolved.readyTimeoutMs);
    });
    await Promise.race([view.ready.catch(() => {}), timeout]);
    clearTimeout(timer);
    if (!ready) {
      throw new HttpError(503, 'not-ready', 'the discovery view has not loaded yet', { 'retry-after': '1' });
    }
  }

  /** A blocking query: waits while the client's `index` is still the view's version. */
  async function block(request: Request, query: URLSearchParams): Promise<void> {
    const index = parseIndex(query.get('index'));
    const waitMs = parseWait(query.get('wait'), resolved.defaultWaitMs, resolved.maxWaitMs);
    if (index === null || index !== view.version) return;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    const onAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await view.changed(index, controller.signal);
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function json(request: Request, query: URLSearchParams, body: () => unknown): Promise<Response> {
    await waitReady();
    await block(request, query);
    // The version is read before the body, so a change while building it is not lost to the next poll.
    const index = view.version;
    return jsonResponse(request, body(), index);
  }

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = localPath(url.pathname, resolved);
    if (path === undefined) throw notFound(url.pathname);
    if (request.method === 'OPTIONS') return cors.preflight(request);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError(405, 'method-not-allowed', `${request.method} is not allowed`, {
        allow: 'GET, HEAD, OPTIONS',
      });
    }
    const query = url.searchParams;
    if (path === '/' && page !== undefined) {
      return new Response(request.method === 'HEAD' ? null : page, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-cache',
          // Nothing from outside: the page's own inline script and style, and this server.
          'content-security-policy':
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
      });
    }
    if (path === '/v1/url-map') {
      if (!resolved.publicUrlMap) assertAuthorized(request, resolved.tokens);
      return json(request, query, () => view.urlMap());
    }
    // Past here every route needs the token, checked before anything about the path is said.
    assertAuthorized(request, resolved.tokens);
    if (path === '/metrics') {
      await waitReady();
      return new Response(metricsText(view, resolved.registry, refreshFailures), {
        headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
      });
    }
    if (path === '/v1/events') {
      return new Response(
        eventStream(view, request.signal ?? new AbortController().signal, resolved.heartbeatMs),
        {
          headers: {
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            // nginx buffers responses unless told not to, which would hold events back.
            'x-accel-buffering': 'no',
          },
        },
      );
    }
    if (path === '/v1/snapshot')
      return json(request, query, () => snapshotBody(view, view.snapshot(), rejected(), Date.now()));
    if (path === '/v1/services') return json(request, query, () => servicesBody(view.snapshot()));
    const segments = path.split('/');
    if (segments.length >= 4 && segments.length <= 5 && segments[1] === 'v1' && segments[2] === 'services') {
      const service = parseName(segments[3] as string, 'service name');
      if (segments.length === 4) {
        const status = parseStatuses(query.get('status'));
        return json(request, query, () => ({ service, instances: view.instances(service, { status }) }));
      }
      const id = parseName(segments[4] as string, 'instance id');
      await waitReady();
      await block(request, query);
      const index = view.version;
      const instance = view.instances(service).find((candidate) => candidate.id === id);
      if (instance === undefined) throw new HttpError(404, 'not-found', `no instance ${service}/${id}`);
      return jsonResponse(request, instance, index);
    }
    throw notFound(url.pathname);
  }

  return async (request: Request): Promise<Response> => {
    let response: Response;
    try {
      response = await route(request);
    } catch (error) {
      if (!(error instanceof HttpError)) {
        logger.error('discovery handler failed', { error: String(error) });
      }
      response = errorResponse(
        error instanceof HttpError ? error : new HttpError(500, 'internal', 'internal error'),
      );
    }
    for (const [name, value] of Object.entries(cors.headers(request))) response.headers.set(name, value);
    return response;
  };
}

/** The path below `basePath`, `/` for the base itself, or undefined when the request is outside it. */
function localPath(pathname: string, options: ResolvedHandlerOptions): string | undefined {
  const { basePath } = options;
  if (basePath === '') return pathname;
  if (pathname === basePath) return '/';
  return pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
}
