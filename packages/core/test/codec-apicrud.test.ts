import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apicrudCodec } from '../src/codec/apicrud.js';
import { decodeBase64, encodeBase64 } from '../src/codec/base64.js';
import type { CryptoBackend } from '../src/crypto/backend.js';
import { nodeCryptoBackend } from '../src/crypto/node.js';
import { webCryptoBackend } from '../src/crypto/web.js';

interface Vector {
  secret: string;
  plaintext: string;
  ciphertext: string;
}

// `shared/` sits beside the repository's root, here and in CI.
const fixtureUrl = new URL('../../../../shared/fixtures/apicrud-aes-vectors.json', import.meta.url);
const vectors = (JSON.parse(readFileSync(fixtureUrl, 'utf8')) as { cases: Vector[] }).cases;

const backends: [string, CryptoBackend][] = [
  ['web', webCryptoBackend],
  ['node', nodeCryptoBackend],
];
const recordKey = 'reg:account:i-1';
const secret = '5bj27gMy6Kbb37A7P';

describe.each(backends)('apicrud codec on the %s backend', (_name, backend) => {
  it('decrypts every vector written by Python apicrud', async () => {
    expect(vectors).toHaveLength(18);
    for (const vector of vectors) {
      const codec = apicrudCodec(vector.secret, { backend });
      expect(await codec.decode(vector.ciphertext, recordKey)).toBe(vector.plaintext);
    }
  });

  it('writes base64(16-byte IV || whole blocks) that it reads back', async () => {
    const codec = apicrudCodec(secret, { backend });
    for (const vector of vectors) {
      const value = await codec.encode(vector.plaintext, recordKey);
      const bytes = decodeBase64(value);
      const ciphertextLength = bytes.length - 16;
      expect(ciphertextLength % 16).toBe(0);
      // PKCS#7 always adds 1..16 bytes.
      expect(ciphertextLength).toBe((Math.floor(vector.plaintext.length / 16) + 1) * 16);
      expect(await codec.decode(value, 'reg:other:i-2')).toBe(vector.plaintext);
    }
  });

  it('uses a fresh IV per value', async () => {
    const codec = apicrudCodec(secret, { backend });
    const first = await codec.encode('same', recordKey);
    expect(await codec.encode('same', recordKey)).not.toBe(first);
  });

  it('round-trips non-ASCII text by padding bytes', async () => {
    const codec = apicrudCodec(secret, { backend });
    for (const text of ['ünïcode ✓', '日本語のレコード', '🚀'.repeat(4), '\u{10FFFF}', '\uFEFFbom first']) {
      const value = await codec.encode(text, recordKey);
      expect(decodeBase64(value).length % 16).toBe(0);
      expect(await codec.decode(value, recordKey)).toBe(text);
    }
  });

  it('round-trips arbitrary strings', async () => {
    const codec = apicrudCodec(secret, { backend });
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 400 }), async (text) => {
        expect(await codec.decode(await codec.encode(text, recordKey), recordKey)).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  it('tries each secret of a list in turn', async () => {
    const written = await apicrudCodec('the old secret', { backend }).encode('{"port":1}', recordKey);
    const rotated = apicrudCodec(['the new secret', 'the old secret'], { backend });
    expect(await rotated.decode(written, recordKey)).toBe('{"port":1}');
    const fresh = await rotated.encode('{"port":2}', recordKey);
    expect(await apicrudCodec('the new secret', { backend }).decode(fresh, recordKey)).toBe('{"port":2}');
    await expect(apicrudCodec('the old secret', { backend }).decode(fresh, recordKey)).rejects.toMatchObject({
      code: 'invalid-record',
    });
  });

  it('rejects malformed values as invalid-record', async () => {
    const codec = apicrudCodec(secret, { backend });
    const valid = decodeBase64(vectors[4]?.ciphertext ?? '');
    const malformed = [
      '',
      'not base64!',
      encodeBase64(new Uint8Array(16)), // IV only
      encodeBase64(valid.subarray(0, valid.length - 1)), // not whole blocks
      encodeBase64(valid.subarray(0, valid.length - 16)), // last block lost: padding is wrong
      `${vectors[4]?.ciphertext}\n`,
      'g1.AAAAAAAA.AAAA',
      null as unknown as string,
    ];
    for (const value of malformed) {
      await expect(codec.decode(value, recordKey), String(value)).rejects.toMatchObject({
        code: 'invalid-record',
      });
    }
  });

  it('checks the whole PKCS#7 pad and UTF-8', async () => {
    const key = await backend.importCbcKey(await backend.sha256(new TextEncoder().encode(secret)));
    const iv = new Uint8Array(16);
    const encryptRaw = async (block: number[]) =>
      encodeBase64(new Uint8Array([...iv, ...(await backend.encryptCbc(key, iv, new Uint8Array(block)))]));
    const codec = apicrudCodec(secret, { backend });
    const text = [...'0123456789abcd'].map((char) => char.charCodeAt(0));
    expect(await codec.decode(await encryptRaw([...text, 2, 2]), recordKey)).toBe('0123456789abcd');
    for (const bad of [
      [...text, 3, 2], // unequal pad bytes
      [...text, 2, 0], // pad length 0
      [...text, 2, 17], // pad length over 16
      [...text.slice(0, 13), 0xff, 2, 2], // not UTF-8
    ]) {
      await expect(codec.decode(await encryptRaw(bad), recordKey)).rejects.toMatchObject({
        code: 'invalid-record',
      });
    }
  });
});

describe('apicrud codec secrets', () => {
  it('accepts any non-empty string, as apicrud does', () => {
    expect(apicrudCodec('x').name).toBe('apicrud');
    expect(apicrudCodec(['short', 'x']).name).toBe('apicrud');
  });

  it('rejects empty or missing secrets with invalid-secret', () => {
    for (const bad of ['', [], [''], ['ok', ''], undefined, null, 42, ['ok', 42]]) {
      expect(() => apicrudCodec(bad as never)).toThrow(expect.objectContaining({ code: 'invalid-secret' }));
    }
  });
});
