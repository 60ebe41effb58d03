import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, decodeBase64Bytes, encodeBase64, encodeBase64Url } from '../src/codec/base64.js';

const ascii = (text: string) => new TextEncoder().encode(text);

describe('base64', () => {
  it('matches RFC 4648 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(decodeBase64(encoded))).toBe(plain);
      expect(new TextDecoder().decode(decodeBase64Bytes(ascii(encoded)))).toBe(plain);
    }
  });

  it('agrees with Buffer on arbitrary bytes, both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const encoded = encodeBase64(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(encoded)).toEqual(bytes);
        expect(decodeBase64Bytes(ascii(encoded))).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('encodes base64url without padding', () => {
    expect(encodeBase64Url(new Uint8Array([0xfb, 0xff, 0xbf, 0xfe]))).toBe('-_-__g');
  });

  it('rejects anything encodeBase64 would not produce', () => {
    const invalid = [
      'Zg', // no padding
      'Zg=', // length not a multiple of 4
      'Zh==', // non-zero bits hidden by padding
      'Zm9=', // same, one pad character
      '====',
      'Z===',
      'Zg==Zg==', // padding in the middle
      'Zm9v\n', // whitespace
      ' Zm9v',
      'Zm-v', // base64url alphabet
      'Zm_v',
      'Zm9v'.replace('9', '\u0139'), // a char whose low byte is in the alphabet
      'Zm.v',
      'Zm9ü',
    ];
    for (const text of invalid) {
      expect(() => decodeBase64(text), text).toThrow(SyntaxError);
      // The same text as its UTF-8 bytes, as a store hands a raw reply over.
      expect(() => decodeBase64Bytes(ascii(text)), text).toThrow(SyntaxError);
    }
    // Bytes no text of the alphabet encodes to: a lone byte above ASCII, NUL.
    for (const bytes of [
      [0x5a, 0x6d, 0x39, 0xff],
      [0x5a, 0x6d, 0x39, 0x00],
      [0x80, 0x5a, 0x67, 0x3d],
    ]) {
      expect(() => decodeBase64Bytes(new Uint8Array(bytes))).toThrow(SyntaxError);
    }
  });
});
