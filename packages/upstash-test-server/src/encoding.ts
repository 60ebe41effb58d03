import { ReplyError } from 'ioredis';

/** A value as it appears in an Upstash REST response body. */
export type JsonReply = string | number | null | JsonReply[];

/**
 * Turns a RESP2 reply, as ioredis `callBuffer` returns it (bulk and status strings as Buffers,
 * integers as numbers, nil as null, arrays nested), into Upstash's JSON.
 *
 * With `base64`, every string is base64 of its exact bytes, except a top-level "OK": Upstash
 * sends that one raw and the client keeps it as is. Inside arrays the client base64-decodes
 * every string, so "OK" is encoded there too. Without `base64`, strings are decoded as UTF-8
 * and invalid bytes become U+FFFD, as Upstash documents.
 */
export function encodeReply(reply: unknown, base64: boolean): JsonReply {
  if (base64 && Buffer.isBuffer(reply) && reply.length === 2 && reply.toString('latin1') === 'OK') {
    return 'OK';
  }
  return encodeValue(reply, base64);
}

function encodeValue(reply: unknown, base64: boolean): JsonReply {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  if (Array.isArray(reply)) return reply.map((item) => encodeValue(item, base64));
  // An error nested in an array (a Lua table holding `{err = ...}`) has no JSON form of its own.
  if (reply instanceof Error) return encodeBytes(Buffer.from(reply.message), base64);
  if (Buffer.isBuffer(reply)) return encodeBytes(reply, base64);
  return encodeBytes(Buffer.from(String(reply)), base64);
}

function encodeBytes(bytes: Buffer, base64: boolean): string {
  return base64 ? bytes.toString('base64') : bytes.toString('utf8');
}

/** True for an error Redis itself replied with (as opposed to a lost or closed connection). */
export function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError;
}
