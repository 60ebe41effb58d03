import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apicrudCodec } from '../src/codec/apicrud.js';
import { decodeBase64, encodeBase64 } from '../src/codec/base64.js';
import type { RecordCodec } from '../src/codec/codec.js';
import { gcmCodec } from '../src/codec/gcm.js';
import type { CryptoBackend } from '../src/crypto/backend.js';
import { nodeCryptoBackend } from '../src/crypto/node.js';
import { webCryptoBackend } from '../src/crypto/web.js';
import { RegistryError } from '../src/errors.js';

const backends: [string, CryptoBackend][] = [
  ['web', webCryptoBackend],
  ['node', nodeCryptoBackend],
];
const secret = 'correct horse battery staple';
const otherSecret = 'another cluster entirely!';
const recordKey = 'reg:account:i-1';
const record = JSON.stringify({
  endpoints: ['account'],
  ipv4: '10.0.0.7',
  port: 8080,
  public_url: 'https://x',
});
const valuePattern = /^g1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9+/]+={0,2}$/;

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

// Rewrites the payload bytes of a `g1.<kid>.<payload>` value.
function editPayload(value: string, edit: (bytes: Uint8Array) => Uint8Array): string {
  const [prefix, keyId, payload] = value.split('.');
  return `${prefix}.${keyId}.${encodeBase64(edit(decodeBase64(payload ?? '')))}`;
}

function fixedRandom(backend: CryptoBackend, byte: number): CryptoBackend {
  return { ...backend, randomBytes: (length) => new Uint8Array(length).fill(byte) };
}

describe.each(backends)('gcm codec on the %s backend', (_name, backend) => {
  const codec = gcmCodec(secret, { backend });

  it('round-trips a record as ASCII g1.<kid>.<base64>', async () => {
    const value = await codec.encode(record, recordKey);
    expect(value).toMatch(valuePattern);
    // 12-byte IV, ciphertext as long as the UTF-8 plaintext, 16-byte tag.
    expect(decodeBase64(value.split('.')[2] ?? '')).toHaveLength(12 + record.length + 16);
    expect(await codec.decode(value, recordKey)).toBe(record);
    expect(await codec.decode(await codec.encode('', recordKey), recordKey)).toBe('');
  });

  it('uses a fresh IV per value and one key id per secret', async () => {
    const first = await codec.encode(record, recordKey);
    const second = await codec.encode(record, recordKey);
    expect(second).not.toBe(first);
    expect(second.split('.')[1]).toBe(first.split('.')[1]);
    const other = await gcmCodec(otherSecret, { backend }).encode(record, recordKey);
    expect(other.split('.')[1]).not.toBe(first.split('.')[1]);
  });

  it('fails a value copied to another record key', async () => {
    const value = await codec.encode(record, recordKey);
    const error = await rejection(codec.decode(value, 'reg:account:i-2'));
    expect(error.code).toBe('invalid-record');
    expect(error.message).toMatch(/authentication/);
  });

  it('fails a value with any flipped bit in its IV, ciphertext or tag', async () => {
    const value = await codec.encode('{"port":1}', recordKey);
    const length = decodeBase64(value.split('.')[2] ?? '').length;
    for (let index = 0; index < length; index++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = editPayload(value, (bytes) => {
          const copy = bytes.slice();
          copy[index] = (copy[index] ?? 0) ^ bit;
          return copy;
        });
        expect((await rejection(codec.decode(tampered, recordKey))).code, `byte ${index}`).toBe(
          'invalid-record',
        );
      }
    }
  });

  it('fails a value with a changed format or key id', async () => {
    const value = await codec.encode(record, recordKey);
    const [, keyId = '', payload] = value.split('.');
    const flippedId = `${keyId[0] === 'A' ? 'B' : 'A'}${keyId.slice(1)}`;
    for (const changed of [
      `g2.${keyId}.${payload}`,
      `G1.${keyId}.${payload}`,
      `g1.${flippedId}.${payload}`,
    ]) {
      expect((await rejection(codec.decode(changed, recordKey))).code).toBe('invalid-record');
    }
  });

  it('fails truncated values', async () => {
    const value = await codec.encode(record, recordKey);
    const truncated = [
      value.slice(0, -4),
      value.slice(0, -1),
      editPayload(value, (bytes) => bytes.subarray(0, bytes.length - 1)),
      editPayload(value, (bytes) => bytes.subarray(0, 28)),
      editPayload(value, (bytes) => bytes.subarray(0, 27)),
      editPayload(value, (bytes) => bytes.subarray(0, 12)),
      value.slice(0, value.lastIndexOf('.') + 1),
      value.slice(0, value.lastIndexOf('.')),
    ];
    for (const value of truncated) {
      expect((await rejection(codec.decode(value, recordKey))).code, value).toBe('invalid-record');
    }
  });

  it('fails garbage, and values of the apicrud codec', async () => {
    const keyId = (await codec.encode(record, recordKey)).split('.')[1];
    const garbage = [
      '',
      'hello',
      'g1',
      'g1..',
      `g1.${keyId}.!!!!`,
      `g1.${keyId}.AAAA.AAAA`,
      `g1.${keyId}.${encodeBase64(new Uint8Array(60))}`,
      `g1.${keyId}.${encodeBase64(backend.randomBytes(200))}`,
      await apicrudCodec(secret, { backend }).encode(record, recordKey),
      null as unknown as string,
      42 as unknown as string,
    ];
    for (const value of garbage) {
      expect((await rejection(codec.decode(value, recordKey))).code, String(value)).toBe('invalid-record');
    }
  });

  it('names an unknown key id (wrong secret) as such', async () => {
    const value = await gcmCodec(otherSecret, { backend }).encode(record, recordKey);
    const error = await rejection(codec.decode(value, recordKey));
    expect(error.code).toBe('invalid-record');
    expect(error.message).toBe("written with an unknown key (another cluster's secret?)");
  });

  it('rotates: [new, old] reads values written by [old] and writes with new', async () => {
    const oldSecret = 'the old secret, retiring';
    const newSecret = 'the new secret, current!';
    const written = await gcmCodec(oldSecret, { backend }).encode(record, recordKey);
    const rotated = gcmCodec([newSecret, oldSecret], { backend });
    expect(await rotated.decode(written, recordKey)).toBe(record);
    const fresh = await rotated.encode(record, recordKey);
    expect(await gcmCodec(newSecret, { backend }).decode(fresh, recordKey)).toBe(record);
    expect((await rejection(gcmCodec(oldSecret, { backend }).decode(fresh, recordKey))).code).toBe(
      'invalid-record',
    );
  });

  it('refuses to encode text TextEncoder would alter', async () => {
    expect((await rejection(codec.encode('lone \uD800 surrogate', recordKey))).code).toBe('invalid-argument');
  });

  it('round-trips arbitrary strings and record keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        async (text, key) => {
          const value = await codec.encode(text, key);
          expect(value).toMatch(valuePattern);
          expect(await codec.decode(value, key)).toBe(text);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('gcm codec across backends', () => {
  it('reads on one backend what the other wrote', async () => {
    const web = gcmCodec([secret, otherSecret], { backend: webCryptoBackend });
    const node = gcmCodec([secret, otherSecret], { backend: nodeCryptoBackend });
    for (const text of [record, '', 'ünïcode ✓ 🚀']) {
      expect(await node.decode(await web.encode(text, recordKey), recordKey)).toBe(text);
      expect(await web.decode(await node.encode(text, recordKey), recordKey)).toBe(text);
    }
  });

  it('writes byte-identical values for the same IV', async () => {
    for (const byte of [0, 0xa5]) {
      const web = gcmCodec(secret, { backend: fixedRandom(webCryptoBackend, byte) });
      const node = gcmCodec(secret, { backend: fixedRandom(nodeCryptoBackend, byte) });
      expect(await web.encode(record, recordKey)).toBe(await node.encode(record, recordKey));
      const webApicrud = apicrudCodec(secret, { backend: fixedRandom(webCryptoBackend, byte) });
      const nodeApicrud = apicrudCodec(secret, { backend: fixedRandom(nodeCryptoBackend, byte) });
      expect(await webApicrud.encode(record, recordKey)).toBe(await nodeApicrud.encode(record, recordKey));
    }
  });

  it('round-trips arbitrary strings under both codecs, written and read on different backends', async () => {
    const pairs: [RecordCodec, RecordCodec][] = [
      [gcmCodec(secret, { backend: webCryptoBackend }), gcmCodec(secret, { backend: nodeCryptoBackend })],
      [
        apicrudCodec(secret, { backend: nodeCryptoBackend }),
        apicrudCodec(secret, { backend: webCryptoBackend }),
      ],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.boolean(),
        async (text, webWrites) => {
          for (const [first, second] of pairs) {
            const [writer, reader] = webWrites ? [first, second] : [second, first];
            expect(await reader.decode(await writer.encode(text, recordKey), recordKey)).toBe(text);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('gcm codec secrets', () => {
  it('accepts a string of 16+ characters or a non-empty list of such', () => {
    expect(gcmCodec('0123456789abcdef').name).toBe('gcm');
    expect(gcmCodec(['0123456789abcdef', 'sixteen chars ok']).name).toBe('gcm');
  });

  it('rejects anything else with invalid-secret, saying what is allowed', () => {
    for (const bad of ['', 'fifteen chars!!', [], ['0123456789abcdef', 'short'], undefined, null, 42, [42]]) {
      expect(() => gcmCodec(bad as never)).toThrow(
        expect.objectContaining({
          code: 'invalid-secret',
          message: expect.stringMatching(/at least 16 characters/),
        }),
      );
    }
  });
});

describe('codec errors', () => {
  it('never contain a secret, key material or plaintext', async () => {
    const shortSecret = 'SHORTSECRET9';
    const longSecret = 'SUPERSECRETVALUE-0123456789';
    const plaintext = '{"meta":{"PLAINTEXT_MARKER":true}}';
    const errors: unknown[] = [];
    const collect = async (action: () => unknown) => {
      try {
        await action();
      } catch (error) {
        errors.push(error);
      }
    };
    await collect(() => gcmCodec(shortSecret));
    await collect(() => gcmCodec([longSecret, shortSecret]));
    await collect(() => apicrudCodec(['', longSecret]));
    for (const [, backend] of backends) {
      const codecs = [gcmCodec(longSecret, { backend }), apicrudCodec(longSecret, { backend })];
      for (const codec of codecs) {
        const value = await codec.encode(plaintext, recordKey);
        const foreign = await (codec.name === 'gcm' ? gcmCodec : apicrudCodec)(otherSecret, {
          backend,
        }).encode(plaintext, recordKey);
        await collect(() => codec.decode(value, 'reg:account:elsewhere'));
        await collect(() => codec.decode(foreign, recordKey));
        await collect(() => codec.decode(`${value.slice(0, -8)}AAAAAAA=`, recordKey));
        await collect(() => codec.decode('%%%', recordKey));
      }
    }
    // Two per codec and backend can succeed: apicrud ignores the record key, and the 8-character edit
    // can leave valid padding, which the JSON check of the registry then rejects.
    expect(errors.length).toBeGreaterThanOrEqual(3 + 2 * 2 * 2);
    const forbidden = [shortSecret, longSecret, 'PLAINTEXT_MARKER', 'SUPERSECRET'];
    for (const error of errors) {
      expect(error).toBeInstanceOf(RegistryError);
      const texts: string[] = [];
      for (let current: unknown = error; current instanceof Error; current = current.cause) {
        texts.push(current.message, String(current.stack), JSON.stringify(current));
      }
      for (const text of texts) for (const secretText of forbidden) expect(text).not.toContain(secretText);
    }
  });
});
