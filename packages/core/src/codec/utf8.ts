import { RegistryError } from '../errors.js';

const encoder = new TextEncoder();
// fatal: bad bytes throw instead of turning into U+FFFD; ignoreBOM: a leading U+FEFF is content, not a mark.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// With the `u` flag a surrogate pair is one code point, so only unpaired halves match.
const loneSurrogate = /[\uD800-\uDFFF]/u;

/** UTF-8 bytes of `text`. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * UTF-8 bytes of a record's text. Throws `invalid-argument` on an unpaired surrogate, which
 * TextEncoder would silently replace with U+FFFD, so the value would not decode to what was written.
 * `JSON.stringify` escapes such characters, so records never contain them.
 */
export function encodeRecordText(text: string, what: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new RegistryError('invalid-argument', `${what} must be a string`);
  }
  if (loneSurrogate.test(text)) {
    throw new RegistryError('invalid-argument', `${what} contains an unpaired UTF-16 surrogate`);
  }
  return encoder.encode(text);
}

const keyScratch = new Uint8Array(256);

/**
 * `encodeRecordText(key, 'record key')` into a buffer the next call reuses, for callers that use the
 * bytes at once: record keys are ASCII names, written here without a TextEncoder call (a cold `find`
 * encodes one key per record). Any other key takes `encodeRecordText`.
 */
export function encodeKeyTransient(key: string): Uint8Array {
  if (typeof key !== 'string' || key.length > keyScratch.length) return encodeRecordText(key, 'record key');
  const length = key.length;
  for (let index = 0; index < length; index++) {
    const code = key.charCodeAt(index);
    if (code > 127) return encodeRecordText(key, 'record key');
    keyScratch[index] = code;
  }
  return keyScratch.subarray(0, length);
}

/** Decodes UTF-8, or returns `undefined` when `bytes` are not valid UTF-8. */
export function decodeUtf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Concatenates byte arrays into a new one. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
