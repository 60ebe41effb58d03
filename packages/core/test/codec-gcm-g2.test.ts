import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../src/codec/base64.js';
import type { DecodedRecord } from '../src/codec/codec.js';
import { gcmCodec } from '../src/codec/gcm.js';
import { parseExpiry } from '../src/codec/gcm-expiry.js';
import type { CryptoBackend } from '../src/crypto/backend.js';
import {
  absorbBlocks,
  finishHmacSha256,
  hmacSha256,
  hmacSha256Key,
  sha256,
} from '../src/crypto/hmac-sha256.js';
import { nodeCryptoBackend } from '../src/crypto/node.js';
import { webCryptoBackend } from '../src/crypto/web.js';
import { RegistryError } from '../src/errors.js';

const backends: [string, CryptoBackend][] = [
  ['web', webCryptoBackend],
  ['node', nodeCryptoBackend],
];
const secret = 'correct horse battery staple';
const key = 'reg:account:i-1';
const content = JSON.stringify({ endpoints: ['account'], port: 8080, public_url: 'https://x', v: 1 });
const g2Pattern = /^g2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9+/]+={0,2}\.[A-Za-z0-9_-]{22}\.[0-9.]+$/;

/** `{ body, mac, expiry }` of a g2 value. */
function fields(value: string) {
  const [prefix, keyId, payload, mac, ...expiry] = value.split('.');
  return { body: `${prefix}.${keyId}.${payload}`, keyId, payload, mac, expiry: expiry.join('.') };
}

function fixedRandom(backend: CryptoBackend, byte: number): CryptoBackend {
  return { ...backend, randomBytes: (length) => new Uint8Array(length).fill(byte) };
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).code).toBe('invalid-record');
  return error as RegistryError;
}

describe('pure-JS HMAC-SHA-256', () => {
  it('matches node:crypto byte for byte over random keys and messages', () => {
    for (let round = 0; round < 3000; round++) {
      const macKey = randomBytes(round % 150);
      const message = randomBytes(Math.floor(Math.random() * 400));
      expect(Buffer.from(hmacSha256(hmacSha256Key(macKey), message)).toString('hex')).toBe(
        createHmac('sha256', macKey).update(message).digest('hex'),
      );
      expect(Buffer.from(sha256(message)).toString('hex')).toBe(
        createHash('sha256').update(message).digest('hex'),
      );
    }
  });

  it('finishing from a kept midstate gives the MAC of the whole message, and keeps the midstate', () => {
    const raw = randomBytes(32);
    const macKey = hmacSha256Key(raw);
    for (let round = 0; round < 500; round++) {
      const prefix = randomBytes(64 * (1 + (round % 3)));
      const midstate = absorbBlocks(macKey.inner, prefix);
      const copy = midstate.slice();
      const tail = randomBytes(round % 120);
      const out = new Uint8Array(32);
      finishHmacSha256(macKey, midstate, prefix.length, tail, tail.length, out);
      expect(Buffer.from(out).toString('hex')).toBe(
        createHmac('sha256', raw).update(prefix).update(tail).digest('hex'),
      );
      expect(midstate).toEqual(copy);
    }
  });
});

describe.each(backends)('gcm format g2 on the %s backend', (_name, backend) => {
  const codec = gcmCodec(secret, { backend });
  const encodeRecord = (text: string, expiresAt: number, recordKey = key) =>
    codec.encodeRecord?.(text, expiresAt, recordKey) as Promise<string>;
  const decodeRecord = (value: string, recordKey = key) =>
    codec.decodeRecord?.(value, recordKey) as Promise<DecodedRecord>;

  it('keeps the ciphertext while only the expiry changes, and takes a fresh IV for any other change', async () => {
    const first = await encodeRecord(content, 1_000_000);
    const second = await encodeRecord(content, 1_000_123.5);
    expect(first).toMatch(g2Pattern);
    expect(fields(second).body).toBe(fields(first).body);
    expect(fields(second).expiry).toBe('1000123.5');
    expect(fields(second).mac).not.toBe(fields(first).mac);
    const changed = await encodeRecord(content.replace('8080', '8081'), 1_000_200);
    const ivOf = (value: string) => decodeBase64(fields(value).payload as string).subarray(0, 12);
    expect(ivOf(changed)).not.toEqual(ivOf(first));
    // Back to the first content: a fresh IV again, never the first one's (an IV never meets two plaintexts).
    const back = await encodeRecord(content, 1_000_300);
    expect(ivOf(back)).not.toEqual(ivOf(first));
    expect(ivOf(back)).not.toEqual(ivOf(changed));
    // Another record key, same content: its own IV.
    const other = await encodeRecord(content, 1_000_300, 'reg:account:i-2');
    expect(ivOf(other)).not.toEqual(ivOf(back));
  });

  it('decodes the expiry apart, and decode() puts it back into the JSON', async () => {
    const value = await encodeRecord(content, 1_700_000_000_000);
    const decoded = await decodeRecord(value);
    expect(decoded.plaintext).toBe(content);
    expect(decoded.expiresAt).toBe(1_700_000_000_000);
    expect(JSON.parse(await codec.decode(value, key))).toEqual({
      ...JSON.parse(content),
      expires_at: 1_700_000_000_000,
    });
    expect(codec.decodeRecordSync?.(value, key)?.plaintext).toBe(
      backend.decryptGcmSync === undefined ? undefined : content,
    );
  });

  it('sameBody: a new authenticated expiry on the same ciphertext, undefined for another, and throws for a forged one', async () => {
    const first = await encodeRecord(content, 1_000_000);
    const { body } = (await decodeRecord(first)) as Required<DecodedRecord>;
    const refreshed = await encodeRecord(content, 1_060_000);
    expect(body.sameBody(refreshed)).toBe(1_060_000);
    expect(body.sameBody(first)).toBe(1_000_000);
    expect(body.sameBody(await encodeRecord(`${content} `, 1_060_000))).toBeUndefined();
    const mac = fields(refreshed).mac as string;
    expect(() => body.sameBody(`${fields(first).body}.${mac}.1060001`)).toThrow(RegistryError);
    expect(() => body.sameBody(`${fields(first).body}.${mac}.01060000`)).toThrow(RegistryError);
    expect(() => body.sameBody(`${fields(first).body}.${mac}`)).toThrow(RegistryError);
    // The same expiry with any one MAC character changed fails; the good field still passes after.
    for (let index = 0; index < mac.length; index++) {
      const changed = `${mac.slice(0, index)}${mac[index] === 'A' ? 'B' : 'A'}${mac.slice(index + 1)}`;
      expect(() => body.sameBody(`${fields(first).body}.${changed}.1060000`)).toThrow(RegistryError);
    }
    expect(body.sameBody(refreshed)).toBe(1_060_000);
    expect(body.sameBody(refreshed)).toBe(1_060_000);
    expect(body.sameBody(first)).toBe(1_000_000);
  });

  it('rejects a forged, moved or grafted expiry field, and a value of another record key', async () => {
    const value = await encodeRecord(content, 1_000_000);
    const { body, mac } = fields(value);
    await rejection(decodeRecord(`${body}.${mac}.2000000`));
    await rejection(decodeRecord(value, 'reg:account:i-2'));
    // The expiry field of another record (other key, other body) grafted onto this body.
    const other = fields(await encodeRecord(content, 9_000_000, 'reg:account:i-2'));
    await rejection(decodeRecord(`${body}.${other.mac}.${other.expiry}`));
    // An older body of the same key with the new body's expiry field.
    const newer = fields(await encodeRecord(`${content} `, 9_000_000));
    await rejection(decodeRecord(`${body}.${newer.mac}.${newer.expiry}`));
    for (const bad of ['g2', `${body}`, `${body}.${mac}`, `${body}.${mac}.`, `${body}.short.1000000`]) {
      await rejection(decodeRecord(bad));
      await rejection(codec.decode(bad, key));
    }
  });

  it('changing any one character of a value makes it fail or decode to exactly the same record', async () => {
    const value = await encodeRecord(content, 1_000_000);
    const replacements = 'Aa0+/-_.9';
    for (let index = 0; index < value.length; index++) {
      for (const replacement of replacements) {
        if (value[index] === replacement) continue;
        const edited = value.slice(0, index) + replacement + value.slice(index + 1);
        await rejection(decodeRecord(edited));
      }
    }
  });
});

describe('g2 across backends', () => {
  it('node and Web Crypto write the same bytes and read each other', async () => {
    const [web, node] = backends.map(([, backend]) => gcmCodec(secret, { backend: fixedRandom(backend, 7) }));
    const fromWeb = await web?.encodeRecord?.(content, 1_234_567, key);
    const fromNode = await node?.encodeRecord?.(content, 1_234_567, key);
    expect(fromWeb).toBe(fromNode);
    expect((await web?.decodeRecord?.(fromNode as string, key))?.expiresAt).toBe(1_234_567);
    expect((await node?.decodeRecord?.(fromWeb as string, key))?.plaintext).toBe(content);
  });

  it('the MAC is HMAC-SHA-256 of the documented layout under the HKDF key', async () => {
    const value = (await gcmCodec(secret).encodeRecord?.(content, 1_234_567, key)) as string;
    const { keyId, payload, mac, expiry } = fields(value);
    const sealed = Buffer.from(payload as string, 'base64');
    const recordKey = Buffer.from(key);
    const used = 2 + 8 + 28 + 4 + recordKey.length;
    const fixed = Buffer.alloc(Math.ceil(used / 64) * 64);
    fixed.write(`g2${keyId}`, 0, 'latin1');
    sealed.copy(fixed, 10, 0, 12);
    sealed.copy(fixed, 22, sealed.length - 16);
    fixed.writeUInt32BE(recordKey.length, 38);
    recordKey.copy(fixed, 42);
    const macKey = hkdfSync('sha256', secret, 'service-registry/record/v1', 'g2 expiry hmac-sha-256 key', 32);
    const expected = createHmac('sha256', Buffer.from(macKey)).update(fixed).update(expiry).digest();
    expect(mac).toBe(expected.subarray(0, 16).toString('base64url'));
  });

  it('reads g1 values as before', async () => {
    const codec = gcmCodec(secret);
    const value = await codec.encode(content, key);
    expect(value.startsWith('g1.')).toBe(true);
    const decoded = await codec.decodeRecord?.(value, key);
    expect(decoded).toEqual({ plaintext: content });
  });
});

describe('the node backend base64 decoders', () => {
  it.each([
    ['copying', nodeCryptoBackend.decodeBase64],
    ['transient', nodeCryptoBackend.decodeBase64Transient],
    // The same text as its bytes, as a store hands a raw reply over.
    [
      'transient, from bytes,',
      (text: string) =>
        (nodeCryptoBackend.decodeBase64Transient as NonNullable<CryptoBackend['decodeBase64Transient']>)(
          new TextEncoder().encode(text),
        ),
    ],
  ])('the %s one accepts exactly what the core decoder accepts, with the same bytes', (_name, decoder) => {
    const decodeNode = decoder as (text: string) => Uint8Array;
    const outcome = (decode: (text: string) => Uint8Array, text: string) => {
      try {
        return Buffer.from(decode(text)).toString('hex');
      } catch (error) {
        return error instanceof SyntaxError ? 'SyntaxError' : 'other';
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(outcome(decodeNode, text)).toBe(Buffer.from(bytes).toString('hex'));
      }),
      { numRuns: 500 },
    );
    const alphabet = fc.constantFrom(...'AQgwBCz09+/=-_ .\n'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 16 }), (text) => {
        expect(outcome(decodeNode, text)).toBe(outcome(decodeBase64, text));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the node backend transient paths of a synchronous decode', () => {
  it('the transient base64 decoder writes into a buffer it reuses, and grows it for a longer text', () => {
    const transient = nodeCryptoBackend.decodeBase64Transient as (text: string) => Uint8Array;
    // Longer than the buffer it starts with: it grows, and the bytes are still whole.
    const long = randomBytes(10_000);
    expect(Buffer.from(transient(encodeBase64(long))).equals(long)).toBe(true);
    const first = transient(encodeBase64(Uint8Array.of(1, 2, 3)));
    transient(encodeBase64(Uint8Array.of(9, 9, 9)));
    expect([...first]).toEqual([9, 9, 9]);
  });

  it('decodes text given as bytes a chunk at a time, past 128 KiB, with padding only at its end', () => {
    const transient = nodeCryptoBackend.decodeBase64Transient as NonNullable<
      CryptoBackend['decodeBase64Transient']
    >;
    const ascii = (text: string) => new TextEncoder().encode(text);
    for (const size of [150_000, 150_001, 150_002, 3 * 64 * 1024]) {
      const bytes = randomBytes(size);
      const text = encodeBase64(bytes);
      for (const authenticated of [false, true])
        expect(Buffer.from(transient(ascii(text), authenticated)).equals(bytes)).toBe(true);
    }
    // Padding, or a character outside the alphabet, where one chunk ends and the next begins.
    const text = encodeBase64(randomBytes(150_000));
    for (const at of [64 * 1024 - 1, 64 * 1024, 100_000]) {
      for (const bad of ['=', '*']) {
        const damaged = ascii(`${text.slice(0, at)}${bad}${text.slice(at + 1)}`);
        for (const authenticated of [false, true])
          expect(() => transient(damaged, authenticated), `${bad} at ${at}`).toThrow(SyntaxError);
      }
    }
  });

  it('decryptGcmTextSync gives the text decryptGcmSync decodes to, undefined for bytes that are not UTF-8, and fails as it fails', async () => {
    const key = await nodeCryptoBackend.importGcmKey(new Uint8Array(32).fill(7));
    const iv = new Uint8Array(12).fill(1);
    const aad = new TextEncoder().encode('ns:svc:id');
    const text = nodeCryptoBackend.decryptGcmTextSync as NonNullable<CryptoBackend['decryptGcmTextSync']>;
    for (const plain of [
      new TextEncoder().encode('{"a":"é☃"}'),
      Uint8Array.of(0xff, 0xfe, 0x41),
      new Uint8Array(0),
    ]) {
      const sealed = await nodeCryptoBackend.encryptGcm(key, iv, plain, aad);
      const expected = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
      let decoded: string | undefined;
      try {
        decoded = expected.decode(plain);
      } catch {
        decoded = undefined;
      }
      expect(text(key, iv, sealed, aad)).toBe(decoded);
      const tampered = sealed.slice();
      tampered[0] = (tampered[0] as number) ^ 1;
      expect(() => text(key, iv, tampered, aad)).toThrow();
      expect(() => text(key, iv, sealed, new TextEncoder().encode('ns:svc:other'))).toThrow();
    }
  });

  it('a cold synchronous decode reads record keys that are not ASCII or longer than its buffer, and rejects a value moved to another key', async () => {
    const codec = gcmCodec(secret, { backend: nodeCryptoBackend });
    const expiresAt = Date.now() + 60_000;
    const odd = 'ns:sërvice:idé';
    const value = await codec.encodeRecord?.(content, expiresAt, odd);
    const fresh = gcmCodec(secret, { backend: nodeCryptoBackend });
    await fresh.decodeRecord?.(value as string, odd);
    expect(fresh.decodeRecordSync?.(value as string, odd)?.plaintext).toBe(content);
    expect(() => fresh.decodeRecordSync?.(value as string, 'ns:service:ide')).toThrow(RegistryError);
    const long = `ns:svc:${'x'.repeat(300)}`;
    const longValue = await codec.encodeRecord?.(content, expiresAt, long);
    expect(fresh.decodeRecordSync?.(longValue as string, long)?.expiresAt).toBe(expiresAt);
  });
});

describe('expiry field', () => {
  it('takes only the canonical form String() writes', () => {
    const at = (text: string) => parseExpiry(`x${text}`, 1);
    expect(at('1700000000000')).toBe(1_700_000_000_000);
    expect(at('1.5')).toBe(1.5);
    for (const bad of [
      '',
      '01',
      '1e3',
      ' 1',
      '1 ',
      '+1',
      '1.50',
      'NaN',
      'Infinity',
      '0x10',
      '9'.repeat(40),
    ]) {
      expect(at(bad)).toBeUndefined();
    }
  });

  it('reads every text exactly as the general rule does (digits take a fast path)', () => {
    const reference = (text: string) => {
      if (text.length < 1 || text.length > 32) return undefined;
      const value = Number(text);
      return Number.isFinite(value) && String(value) === text ? value : undefined;
    };
    const texts = fc.oneof(
      fc.stringMatching(/^[0-9]{1,20}$/),
      fc.integer({ min: -1e15, max: 1e16 }).map(String),
      fc.double({ noNaN: true }).map(String),
      fc.string({ maxLength: 34 }),
    );
    fc.assert(
      fc.property(texts, fc.string({ maxLength: 3 }), (text, before) => {
        expect(parseExpiry(`${before}${text}`, before.length)).toBe(reference(text));
      }),
      { numRuns: 5000 },
    );
    for (const edge of ['0', '00', '9', '999999999999999', '9999999999999999', '9007199254740993', '-0']) {
      expect(parseExpiry(edge, 0)).toBe(reference(edge));
    }
  });
});
