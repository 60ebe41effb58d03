import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CryptoBackend,
  getDefaultCryptoBackend,
  setDefaultCryptoBackend,
} from '../src/crypto/backend.js';
import { nodeCryptoBackend } from '../src/crypto/node.js';
import { webCryptoBackend } from '../src/crypto/web.js';

const backends: [string, CryptoBackend][] = [
  ['web', webCryptoBackend],
  ['node', nodeCryptoBackend],
];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const key32 = fromHex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');

describe.each(backends)('%s crypto backend', (_name, backend) => {
  it('computes SHA-256', async () => {
    const digest = await backend.sha256(new TextEncoder().encode('abc'));
    expect(hex(digest)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('computes HKDF-SHA-256 (RFC 5869 test case 1)', async () => {
    const okm = await backend.hkdfSha256(
      fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      fromHex('000102030405060708090a0b0c'),
      fromHex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(hex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('computes HKDF-SHA-256 with long inputs and with none (RFC 5869 test cases 2 and 3)', async () => {
    const run = (first: number, last: number) =>
      new Uint8Array(Array.from({ length: last - first + 1 }, (_, index) => first + index));
    const long = await backend.hkdfSha256(run(0x00, 0x4f), run(0x60, 0xaf), run(0xb0, 0xff), 82);
    expect(hex(long)).toBe(
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
        '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
        'cc30c58179ec3e87c14c01d5c1f3434f1d87',
    );
    const bare = await backend.hkdfSha256(
      new Uint8Array(22).fill(0x0b),
      new Uint8Array(0),
      new Uint8Array(0),
      42,
    );
    expect(hex(bare)).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it('encrypts AES-256-CBC without padding (NIST SP 800-38A F.2.5)', async () => {
    const key = await backend.importCbcKey(key32);
    const iv = fromHex('000102030405060708090a0b0c0d0e0f');
    const plaintext = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51');
    const ciphertext = await backend.encryptCbc(key, iv, plaintext);
    expect(hex(ciphertext)).toBe('f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d');
    expect(await backend.decryptCbc(key, iv, ciphertext)).toEqual(plaintext);
    expect(await backend.encryptCbc(key, iv, new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(await backend.decryptCbc(key, iv, new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it('decrypts AES-256-CBC blocks whose plaintext is not valid padding', async () => {
    const key = await backend.importCbcKey(key32);
    // Garbage decrypts to random-looking blocks: almost never valid PKCS#7, and must still come back.
    const iv = new Uint8Array(16);
    const garbage = new Uint8Array(64).map((_, index) => index * 7);
    const plaintext = await backend.decryptCbc(key, iv, garbage);
    expect(plaintext).toHaveLength(64);
    expect(await backend.encryptCbc(key, iv, plaintext)).toEqual(garbage);
  });

  it('rejects CBC data that is not whole blocks, and keys from another backend', async () => {
    const key = await backend.importCbcKey(key32);
    await expect(backend.encryptCbc(key, new Uint8Array(16), new Uint8Array(15))).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    await expect(backend.decryptCbc(key, new Uint8Array(16), new Uint8Array(17))).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    const other = backend === webCryptoBackend ? nodeCryptoBackend : webCryptoBackend;
    await expect(other.encryptCbc(key, new Uint8Array(16), new Uint8Array(16))).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    await expect(backend.importGcmKey(new Uint8Array(16))).rejects.toMatchObject({
      code: 'invalid-argument',
    });
  });

  it('rejects GCM input that fails authentication or is shorter than the tag', async () => {
    const key = await backend.importGcmKey(key32);
    const iv = new Uint8Array(12);
    const sealed = await backend.encryptGcm(key, iv, new Uint8Array([1, 2, 3]), new Uint8Array([9]));
    expect(sealed).toHaveLength(3 + 16);
    expect(await backend.decryptGcm(key, iv, sealed, new Uint8Array([9]))).toEqual(new Uint8Array([1, 2, 3]));
    await expect(backend.decryptGcm(key, iv, sealed, new Uint8Array([8]))).rejects.toThrow();
    await expect(backend.decryptGcm(key, iv, sealed.subarray(0, 15), new Uint8Array([9]))).rejects.toThrow();
  });

  it('returns fresh random bytes of the asked length', () => {
    expect(backend.randomBytes(12)).toHaveLength(12);
    expect(backend.randomBytes(70_000)).toHaveLength(70_000);
    expect(hex(backend.randomBytes(16))).not.toBe(hex(backend.randomBytes(16)));
  });
});

describe('web and node backends', () => {
  it('derive the same HKDF-SHA-256 keys for any input, salt, info and length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 255 * 32 }),
        async (input, salt, info, length) => {
          expect(hex(await webCryptoBackend.hkdfSha256(input, salt, info, length))).toBe(
            hex(await nodeCryptoBackend.hkdfSha256(input, salt, info, length)),
          );
        },
      ),
      { numRuns: 200 },
    );
    const none = new Uint8Array(0);
    for (const length of [-1, 1.5, 255 * 32 + 1]) {
      await expect(webCryptoBackend.hkdfSha256(none, none, none, length)).rejects.toThrow(RangeError);
    }
  });

  it('give byte-identical results for the same inputs', async () => {
    const [webGcm, nodeGcm, webCbc, nodeCbc] = await Promise.all([
      webCryptoBackend.importGcmKey(key32),
      nodeCryptoBackend.importGcmKey(key32),
      webCryptoBackend.importCbcKey(key32),
      nodeCryptoBackend.importCbcKey(key32),
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc
          .integer({ min: 0, max: 20 })
          .chain((blocks) => fc.uint8Array({ minLength: blocks * 16, maxLength: blocks * 16 })),
        async (gcmIv, plaintext, aad, cbcIv, blocks) => {
          const sealed = await webCryptoBackend.encryptGcm(webGcm, gcmIv, plaintext, aad);
          expect(await nodeCryptoBackend.encryptGcm(nodeGcm, gcmIv, plaintext, aad)).toEqual(sealed);
          expect(await nodeCryptoBackend.decryptGcm(nodeGcm, gcmIv, sealed, aad)).toEqual(plaintext);
          const encrypted = await webCryptoBackend.encryptCbc(webCbc, cbcIv, blocks);
          expect(await nodeCryptoBackend.encryptCbc(nodeCbc, cbcIv, blocks)).toEqual(encrypted);
          expect(await webCryptoBackend.decryptCbc(webCbc, cbcIv, blocks)).toEqual(
            await nodeCryptoBackend.decryptCbc(nodeCbc, cbcIv, blocks),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('default crypto backend', () => {
  it('is Web Crypto until replaced, and refuses an incomplete backend', () => {
    const before = getDefaultCryptoBackend();
    try {
      expect(before).toBe(webCryptoBackend);
      setDefaultCryptoBackend(nodeCryptoBackend);
      expect(getDefaultCryptoBackend()).toBe(nodeCryptoBackend);
      const incomplete = { ...webCryptoBackend, decryptCbc: undefined } as unknown as CryptoBackend;
      expect(() => setDefaultCryptoBackend(incomplete)).toThrow(/missing: decryptCbc/);
      expect(getDefaultCryptoBackend()).toBe(nodeCryptoBackend);
    } finally {
      setDefaultCryptoBackend(before);
    }
  });
});
