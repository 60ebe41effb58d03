import { HttpError } from './respond.js';

const encoder = new TextEncoder();

/**
 * Compares in time that depends only on the length of `expected`, never on where the first
 * difference is, so a caller cannot find a token one character at a time by timing answers.
 */
export function constantTimeEqual(given: string, expected: string): boolean {
  const left = encoder.encode(given);
  const right = encoder.encode(expected);
  let difference = left.length ^ right.length;
  for (let index = 0; index < right.length; index++) {
    difference |= (left[index % Math.max(left.length, 1)] ?? 0) ^ (right[index] as number);
  }
  return difference === 0;
}

/** Every token is checked (no early exit), so the answer's timing does not tell which one matched. */
function anyTokenMatches(given: string, tokens: readonly string[]): boolean {
  let matched = false;
  for (const token of tokens) matched = constantTimeEqual(given, token) || matched;
  return matched;
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="service-registry"' };

/** Throws a 401 `HttpError` unless the request carries `Authorization: Bearer <one of tokens>`. */
export function assertAuthorized(request: Request, tokens: readonly string[]): void {
  const header = request.headers.get('authorization');
  if (header === null) {
    throw new HttpError(
      401,
      'unauthorized',
      'a bearer token is required (Authorization: Bearer <token>)',
      CHALLENGE,
    );
  }
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!match || !anyTokenMatches(match[1] as string, tokens)) {
    throw new HttpError(401, 'unauthorized', 'the bearer token is not valid', {
      'www-authenticate': 'Bearer realm="service-registry", error="invalid_token"',
    });
  }
}
