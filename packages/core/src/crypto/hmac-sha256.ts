// HMAC-SHA-256 (RFC 2104, FIPS 180-4) in plain JavaScript, synchronous on every runtime. It checks a
// gcm `g2` value's expiry field on every cache hit of `find`: Web Crypto would cost a promise and a
// thread-pool job per record, the very cost a warm cache exists to avoid. The pad states of a key and
// the state after a record's fixed prefix are kept, so checking a new expiry costs two compressions.

const ROUND_CONSTANTS = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

// Int32 throughout: a Uint32Array read above 2^31 is a double to V8, an Int32Array read never is.
const K = new Int32Array(ROUND_CONSTANTS.buffer);
const INITIAL_STATE = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const BLOCK_BYTES = 64;
/** The message schedule as a ring of its last 16 words, computed round by round. */
const words = new Int32Array(16);
const finalBlocks = new Uint8Array(2 * BLOCK_BYTES);

/** A SHA-256 state after whole 64-byte blocks: eight 32-bit words (as signed integers). */
export type Sha256State = Int32Array;

/** An HMAC key as its two pad states: what hashing `key ^ ipad` and `key ^ opad` leaves. */
export interface HmacSha256Key {
  readonly inner: Sha256State;
  readonly outer: Sha256State;
}

function compress(state: Sha256State, block: Uint8Array, offset: number): void {
  const w = words;
  for (let index = 0; index < 16; index++) {
    const at = offset + index * 4;
    w[index] =
      ((block[at] as number) << 24) |
      ((block[at + 1] as number) << 16) |
      ((block[at + 2] as number) << 8) |
      (block[at + 3] as number);
  }
  let a = state[0] as number;
  let b = state[1] as number;
  let c = state[2] as number;
  let d = state[3] as number;
  let e = state[4] as number;
  let f = state[5] as number;
  let g = state[6] as number;
  let h = state[7] as number;
  for (let index = 0; index < 64; index++) {
    let word: number;
    if (index < 16) word = w[index] as number;
    else {
      const w15 = w[(index - 15) & 15] as number;
      const w2 = w[(index - 2) & 15] as number;
      const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      word = ((w[index & 15] as number) + s0 + (w[(index - 7) & 15] as number) + s1) | 0;
      w[index & 15] = word;
    }
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choice = (e & f) ^ (~e & g);
    const t1 = (h + s1 + choice + (K[index] as number) + word) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + majority) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] as number) + a) | 0;
  state[1] = ((state[1] as number) + b) | 0;
  state[2] = ((state[2] as number) + c) | 0;
  state[3] = ((state[3] as number) + d) | 0;
  state[4] = ((state[4] as number) + e) | 0;
  state[5] = ((state[5] as number) + f) | 0;
  state[6] = ((state[6] as number) + g) | 0;
  state[7] = ((state[7] as number) + h) | 0;
}

/** A copy of `state` after absorbing `data`, whose length must be a multiple of 64 bytes. */
export function absorbBlocks(state: Sha256State, data: Uint8Array): Sha256State {
  if (data.length % BLOCK_BYTES !== 0) throw new RangeError('absorbBlocks takes whole 64-byte blocks');
  const next = state.slice();
  for (let offset = 0; offset < data.length; offset += BLOCK_BYTES) compress(next, data, offset);
  return next;
}

/**
 * Pads and compresses the last `tailLength` bytes of a message into `state` (changed in place), whose
 * blocks so far held `absorbedBytes`; writes the 32-byte digest into `out`.
 */
function finishInto(
  state: Sha256State,
  absorbedBytes: number,
  tail: Uint8Array,
  tailLength: number,
  out: Uint8Array,
): void {
  const blocks = tailLength < 56 ? 1 : 2;
  const length = blocks * BLOCK_BYTES;
  finalBlocks.fill(0, 0, length);
  for (let index = 0; index < tailLength; index++) finalBlocks[index] = tail[index] as number;
  finalBlocks[tailLength] = 0x80;
  const bits = (absorbedBytes + tailLength) * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  for (let index = 0; index < 4; index++) {
    finalBlocks[length - 1 - index] = (bits >>> (index * 8)) & 255;
    finalBlocks[length - 5 - index] = (high >>> (index * 8)) & 255;
  }
  compress(state, finalBlocks, 0);
  if (blocks === 2) compress(state, finalBlocks, BLOCK_BYTES);
  for (let index = 0; index < 8; index++) {
    const word = state[index] as number;
    out[index * 4] = word >>> 24;
    out[index * 4 + 1] = (word >>> 16) & 255;
    out[index * 4 + 2] = (word >>> 8) & 255;
    out[index * 4 + 3] = word & 255;
  }
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const whole = data.length - (data.length % BLOCK_BYTES);
  const state = absorbBlocks(INITIAL_STATE, data.subarray(0, whole));
  const out = new Uint8Array(32);
  finishInto(state, whole, data.subarray(whole), data.length - whole, out);
  return out;
}

/** The pad states of an HMAC-SHA-256 key of any length. */
export function hmacSha256Key(key: Uint8Array): HmacSha256Key {
  const block = new Uint8Array(BLOCK_BYTES);
  block.set(key.length > BLOCK_BYTES ? sha256(key) : key);
  for (let index = 0; index < BLOCK_BYTES; index++) block[index] = (block[index] as number) ^ 0x36;
  const inner = absorbBlocks(INITIAL_STATE, block);
  for (let index = 0; index < BLOCK_BYTES; index++) block[index] = (block[index] as number) ^ 0x36 ^ 0x5c;
  const outer = absorbBlocks(INITIAL_STATE, block);
  block.fill(0);
  return { inner, outer };
}

const innerDigest = new Uint8Array(32);
const scratchState = new Int32Array(8);

/**
 * Finishes an HMAC whose message so far was `absorbedBytes` (a multiple of 64) leaving inner state
 * `midstate` (from `absorbBlocks(key.inner, ...)`; not changed), with the first `tailLength` bytes of
 * `tail`. Writes the 32-byte MAC into `out`.
 */
export function finishHmacSha256(
  key: HmacSha256Key,
  midstate: Sha256State,
  absorbedBytes: number,
  tail: Uint8Array,
  tailLength: number,
  out: Uint8Array,
): void {
  scratchState.set(midstate);
  finishInto(scratchState, BLOCK_BYTES + absorbedBytes, tail, tailLength, innerDigest);
  scratchState.set(key.outer);
  finishInto(scratchState, BLOCK_BYTES, innerDigest, 32, out);
}

/** HMAC-SHA-256 of `message` under `key` (32 bytes). */
export function hmacSha256(key: HmacSha256Key, message: Uint8Array): Uint8Array {
  const whole = message.length - (message.length % BLOCK_BYTES);
  const midstate = absorbBlocks(key.inner, message.subarray(0, whole));
  const out = new Uint8Array(32);
  finishHmacSha256(key, midstate, whole, message.subarray(whole), message.length - whole, out);
  return out;
}

const HASH_BYTES = 32;

/**
 * HKDF-SHA-256 (RFC 5869): `length` bytes (at most 255 hashes) from `input`, `salt` and `info`. In
 * JavaScript, synchronously: keys are a few dozen bytes, and Web Crypto's HKDF takes two jobs on its
 * thread pool for each, which a fresh reader waits for before it reads its first record.
 */
export function hkdfSha256(
  input: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_BYTES) {
    throw new RangeError(`HKDF-SHA-256 gives 0 to ${255 * HASH_BYTES} bytes, not ${length}`);
  }
  // An empty salt is HashLen zero bytes (RFC 5869 2.2), which HMAC pads to the same key.
  const pseudorandom = hmacSha256(hmacSha256Key(salt), input);
  const key = hmacSha256Key(pseudorandom);
  pseudorandom.fill(0);
  const out = new Uint8Array(length);
  const message = new Uint8Array(HASH_BYTES + info.length + 1);
  let previous = 0;
  for (let block = 1, at = 0; at < length; block++, at += HASH_BYTES) {
    // T(n) = HMAC(PRK, T(n-1) | info | n), T(0) empty.
    message.set(info, previous);
    message[previous + info.length] = block;
    const output = hmacSha256(key, message.subarray(0, previous + info.length + 1));
    out.set(output.subarray(0, Math.min(HASH_BYTES, length - at)), at);
    message.set(output);
    output.fill(0);
    previous = HASH_BYTES;
  }
  message.fill(0);
  key.inner.fill(0);
  key.outer.fill(0);
  return out;
}
