// Hand-written rather than atob/btoa: those go through binary strings (an extra copy each way), are
// slow on Node 20, and atob is lenient (it skips whitespace and accepts missing padding).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 61; // '='
const INVALID = 64; // any bit above the six a sextet uses

const encodeTable = new Uint8Array(64);
const decodeTable = new Uint8Array(128).fill(INVALID);
for (let index = 0; index < 64; index++) {
  const code = ALPHABET.charCodeAt(index);
  encodeTable[index] = code;
  decodeTable[code] = index;
}

// The output is ASCII, which UTF-8 decodes byte for byte, natively.
const asciiDecoder = new TextDecoder();

/** Standard base64 (RFC 4648 section 4) with `=` padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  const whole = bytes.length - (bytes.length % 3);
  let position = 0;
  for (let index = 0; index < whole; index += 3) {
    const triple =
      ((bytes[index] as number) << 16) | ((bytes[index + 1] as number) << 8) | (bytes[index + 2] as number);
    out[position++] = encodeTable[triple >>> 18] as number;
    out[position++] = encodeTable[(triple >>> 12) & 63] as number;
    out[position++] = encodeTable[(triple >>> 6) & 63] as number;
    out[position++] = encodeTable[triple & 63] as number;
  }
  const rest = bytes.length - whole;
  if (rest > 0) {
    const triple = ((bytes[whole] as number) << 16) | (rest === 2 ? (bytes[whole + 1] as number) << 8 : 0);
    out[position++] = encodeTable[triple >>> 18] as number;
    out[position++] = encodeTable[(triple >>> 12) & 63] as number;
    out[position++] = rest === 2 ? (encodeTable[(triple >>> 6) & 63] as number) : PAD;
    out[position] = PAD;
  }
  return asciiDecoder.decode(out);
}

/** Base64url (RFC 4648 section 5) without padding, for identifiers inside a value. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? (decodeTable[code] as number) : INVALID;
}

/**
 * Strict inverse of `encodeBase64`: throws `SyntaxError` unless `text` is exactly what it would
 * produce (alphabet, length a multiple of 4, padding only at the end, zero unused bits), so each
 * byte string has one accepted encoding.
 */
export function decodeBase64(text: string): Uint8Array {
  const length = text.length;
  if (length % 4 !== 0) {
    throw new SyntaxError('base64 length is not a multiple of 4');
  }
  if (length === 0) return new Uint8Array(0);
  const padding = text.charCodeAt(length - 1) !== PAD ? 0 : text.charCodeAt(length - 2) === PAD ? 2 : 1;
  const out = new Uint8Array((length / 4) * 3 - padding);
  const whole = padding === 0 ? length : length - 4;
  let invalid = 0;
  let position = 0;
  for (let index = 0; index < whole; index += 4) {
    const first = sextet(text, index);
    const second = sextet(text, index + 1);
    const third = sextet(text, index + 2);
    const fourth = sextet(text, index + 3);
    invalid |= first | second | third | fourth;
    const triple = (first << 18) | (second << 12) | (third << 6) | fourth;
    out[position++] = (triple >>> 16) & 255;
    out[position++] = (triple >>> 8) & 255;
    out[position++] = triple & 255;
  }
  if (padding > 0) {
    const first = sextet(text, whole);
    const second = sextet(text, whole + 1);
    const third = padding === 1 ? sextet(text, whole + 2) : 0;
    invalid |= first | second | third;
    // Bits the padding hides must be zero, or two strings would decode to the same bytes.
    if ((padding === 2 ? second & 15 : third & 3) !== 0) invalid |= INVALID;
    out[position++] = ((first << 2) | (second >>> 4)) & 255;
    if (padding === 1) out[position] = ((second << 4) | (third >>> 2)) & 255;
  }
  if ((invalid & INVALID) !== 0) {
    throw new SyntaxError('base64 has a character outside its alphabet or misplaced padding');
  }
  return out;
}
