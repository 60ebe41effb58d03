// A small synchronous SHA-1, because script hashes are needed at module init on every runtime: edge
// runtimes have no node:crypto, and Web Crypto's digest is async. Only used for EVALSHA names,
// never for security.

const encoder = new TextEncoder();

const rotateLeft = (value: number, bits: number): number => (value << bits) | (value >>> (32 - bits));

/** Lowercase hex SHA-1 of the UTF-8 bytes of `text`, as Redis names a script. */
export function sha1Hex(text: string): string {
  const bytes = encoder.encode(text);
  const paddedLength = Math.ceil((bytes.length + 9) / 64) * 64;
  const padded = new Uint8Array(paddedLength);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLength = bytes.length * 8;
  view.setUint32(paddedLength - 8, Math.floor(bitLength / 0x1_0000_0000));
  view.setUint32(paddedLength - 4, bitLength >>> 0);

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const words = new Uint32Array(80);
  for (let offset = 0; offset < paddedLength; offset += 64) {
    for (let index = 0; index < 16; index++) words[index] = view.getUint32(offset + index * 4);
    for (let index = 16; index < 80; index++) {
      const mixed =
        (words[index - 3] as number) ^
        (words[index - 8] as number) ^
        (words[index - 14] as number) ^
        (words[index - 16] as number);
      words[index] = rotateLeft(mixed, 1);
    }
    let [a, b, c, d, e] = state as [number, number, number, number, number];
    for (let index = 0; index < 80; index++) {
      let mix: number;
      let constant: number;
      if (index < 20) {
        mix = (b & c) | (~b & d);
        constant = 0x5a827999;
      } else if (index < 40) {
        mix = b ^ c ^ d;
        constant = 0x6ed9eba1;
      } else if (index < 60) {
        mix = (b & c) | (b & d) | (c & d);
        constant = 0x8f1bbcdc;
      } else {
        mix = b ^ c ^ d;
        constant = 0xca62c1d6;
      }
      const next = (rotateLeft(a, 5) + mix + e + constant + (words[index] as number)) >>> 0;
      e = d;
      d = c;
      c = rotateLeft(b, 30) >>> 0;
      b = a;
      a = next;
    }
    state[0] = ((state[0] as number) + a) >>> 0;
    state[1] = ((state[1] as number) + b) >>> 0;
    state[2] = ((state[2] as number) + c) >>> 0;
    state[3] = ((state[3] as number) + d) >>> 0;
    state[4] = ((state[4] as number) + e) >>> 0;
  }
  return state.map((word) => word.toString(16).padStart(8, '0')).join('');
}
