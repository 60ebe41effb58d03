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

/**
 * Sextets by byte, pre-shifted for each of the four places of a quad, with a bit above the 24 of a
 * triple set for every byte outside the alphabet (padding included): one OR of four lookups decodes
 * a quad and flags it.
 */
const BAD = 1 << 24;
const quadTables = [18, 12, 6, 0].map((shift) => {
  const table = new Uint32Array(256).fill(BAD);
  for (let index = 0; index < 64; index++) table[ALPHABET.charCodeAt(index)] = index << shift;
  return table;
});
const [q0, q1, q2, q3] = quadTables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** How many `=` end base64 text handed over as its bytes: 0, 1 or 2. */
export function base64Padding(input: Uint8Array): number {
  const length = input.length;
  return input[length - 1] !== PAD ? 0 : input[length - 2] === PAD ? 2 : 1;
}

/**
 * `decodeBase64` of text handed over as its bytes (ASCII), for a value a store read as raw bytes (a
 * snapshot, hundreds of kilobytes: its text would be one large string to make). As strict as
 * `decodeBase64`: throws `SyntaxError` on anything `encodeBase64` would not produce.
 */
export function decodeBase64Bytes(input: Uint8Array): Uint8Array {
  const length = input.length;
  if (length % 4 !== 0) throw new SyntaxError('base64 length is not a multiple of 4');
  if (length === 0) return new Uint8Array(0);
  const padding = base64Padding(input);
  const out = new Uint8Array((length / 4) * 3 - padding);
  const whole = padding === 0 ? length : length - 4;
  let invalid = 0;
  let position = 0;
  for (let index = 0; index < whole; index += 4) {
    const triple =
      (q0[input[index] as number] as number) |
      (q1[input[index + 1] as number] as number) |
      (q2[input[index + 2] as number] as number) |
      (q3[input[index + 3] as number] as number);
    invalid |= triple;
    out[position] = triple >>> 16;
    out[position + 1] = triple >>> 8;
    out[position + 2] = triple;
    position += 3;
  }
  if (padding > 0) {
    // The last quad as text: its padding and the bits it hides are checked as `decodeBase64` does.
    const last = decodeBase64(String.fromCharCode(...input.subarray(whole)));
    out.set(last, position);
  }
  if ((invalid & BAD) !== 0) {
    throw new SyntaxError('base64 has a character outside its alphabet or misplaced padding');
  }
  return out;
}
