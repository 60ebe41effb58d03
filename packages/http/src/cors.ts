import { INDEX_HEADER } from './respond.js';

/** Cross-origin access for browser UIs on other origins. */
export interface CorsOptions {
  /** Origins allowed to read answers, e.g. `['https://ui.example.com']`, or `'*'` for any. Default none. */
  readonly origins: readonly string[] | '*';
  /** Seconds a browser may cache a preflight answer. Default 600. */
  readonly maxAge?: number;
}

export interface Cors {
  /** The CORS headers for an answer to `request` (none when its origin is not allowed). */
  headers(request: Request): Record<string, string>;
  /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`). */
  preflight(request: Request): Response;
}

export function createCors(options: CorsOptions | undefined): Cors {
  const origins = options?.origins ?? [];
  const maxAge = options?.maxAge ?? 600;
  const allowed = (origin: string | null): string | undefined => {
    if (origin === null) return undefined;
    if (origins === '*') return '*';
    return origins.includes(origin) ? origin : undefined;
  };
  const headers = (request: Request): Record<string, string> => {
    const origin = allowed(request.headers.get('origin'));
    // Vary on Origin whenever the answer depends on it, so a shared cache keeps one copy per origin.
    const vary: Record<string, string> = origins === '*' || origins.length === 0 ? {} : { vary: 'Origin' };
    if (origin === undefined) return vary;
    return {
      ...vary,
      'access-control-allow-origin': origin,
      'access-control-expose-headers': `ETag, ${INDEX_HEADER}`,
    };
  };
  return {
    headers,
    preflight(request) {
      const base = headers(request);
      if (!('access-control-allow-origin' in base)) return new Response(null, { status: 204, headers: base });
      return new Response(null, {
        status: 204,
        headers: {
          ...base,
          'access-control-allow-methods': 'GET, HEAD, OPTIONS',
          'access-control-allow-headers': 'Authorization, If-None-Match, Last-Event-ID',
          'access-control-max-age': String(maxAge),
        },
      });
    },
  };
}
