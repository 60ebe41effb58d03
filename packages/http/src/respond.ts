/** Codes of the JSON errors the handler answers with (`{ error: { code, message } }`). */
export type HttpErrorCode =
  | 'bad-request'
  | 'invalid-name'
  | 'unauthorized'
  | 'not-found'
  | 'method-not-allowed'
  | 'not-ready'
  | 'internal';

/** A failure that becomes a 4xx/5xx JSON answer; its message is written for the client, never a stack. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly headers: Record<string, string>;

  constructor(status: number, code: HttpErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** The header that carries the view's version: the index of blocking queries. */
export const INDEX_HEADER = 'x-registry-index';

const JSON_TYPE = 'application/json; charset=utf-8';

export function errorResponse(error: HttpError): Response {
  return new Response(`${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`, {
    status: error.status,
    headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store', ...error.headers },
  });
}

/**
 * FNV-1a (32 bits) of the body: the ETag follows the exact bytes, so it is right even for fields that
 * change without the view's version moving (an instance's expiry on a routine refresh).
 */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

/** Whether an `If-None-Match` header names `etag` (`*`, a list, weak or strong forms). */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === bare);
}

/** A JSON answer with an ETag and the view's index; `304` when the client already holds these bytes. */
export function jsonResponse(request: Request, body: unknown, index: number): Response {
  const text = `${JSON.stringify(body)}\n`;
  const etag = `"${index.toString(36)}-${fnv1a(text)}"`;
  const headers: Record<string, string> = {
    etag,
    [INDEX_HEADER]: String(index),
    // Clients revalidate every time: a cached answer could hide a new instance.
    'cache-control': 'no-cache',
  };
  if (matches(request.headers.get('if-none-match'), etag))
    return new Response(null, { status: 304, headers });
  return new Response(request.method === 'HEAD' ? null : text, {
    status: 200,
    headers: { ...headers, 'content-type': JSON_TYPE },
  });
}
