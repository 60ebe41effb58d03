import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INSTANCE_STATUSES, type Instance, parseRecord, serializeRecord } from '../src/record.js';
import { isValidName } from '../src/validate.js';

const ref = { namespace: 'reg', service: 'main', instanceId: 'i-1' };
const base: Instance = {
  name: 'main',
  id: 'i-1',
  info: {
    endpoints: ['account', 'location'],
    ipv4: '10.0.0.7',
    port: 8080,
    publicUrl: 'https://api.example.com',
    created: '2026-11-26T20:00:00',
  },
  status: 'up',
  meta: {},
  expiresAt: Date.parse('2026-11-26T20:01:00Z'),
};

describe("serializeRecord in apicrud's format", () => {
  it("writes the seed's fields in the seed's order, then name, id and expires_at; no version", () => {
    const text = serializeRecord(base, 'apicrud');
    expect(text).toBe(
      '{"endpoints":["account","location"],"ipv4":"10.0.0.7","port":8080,' +
        '"public_url":"https://api.example.com","created":"2026-11-26T20:00:00","name":"main","id":"i-1",' +
        `"expires_at":${Date.parse('2026-11-26T20:01:00Z')}}`,
    );
    expect(parseRecord(text, ref)).toEqual(base);
  });

  it('adds status and meta only when they are not the defaults, after expires_at; no version', () => {
    const json = JSON.parse(serializeRecord({ ...base, status: 'draining', meta: { zone: 'a' } }, 'apicrud'));
    expect(Object.keys(json)).toEqual([
      'endpoints',
      'ipv4',
      'port',
      'public_url',
      'created',
      'name',
      'id',
      'expires_at',
      'status',
      'meta',
    ]);
    expect(json).toMatchObject({ status: 'draining', meta: { zone: 'a' }, expires_at: base.expiresAt });
    expect(Object.keys(json)).not.toContain('v');
  });

  it('writes no expires_at for an instance without an expiry, and reads it back without one', () => {
    const text = serializeRecord({ ...base, expiresAt: null }, 'apicrud');
    expect(Object.keys(JSON.parse(text))).not.toContain('expires_at');
    expect(parseRecord(text, ref)).toEqual({ ...base, expiresAt: null });
  });

  it('a record whose expires_at is not a finite number is rejected', () => {
    const json = JSON.parse(serializeRecord(base, 'apicrud'));
    expect(() => parseRecord(JSON.stringify({ ...json, expires_at: 'soon' }), ref)).toThrow('bad expires_at');
  });

  it('is ASCII, escaped as Python json.dumps escapes, and reads back exactly', () => {
    const text = serializeRecord(
      { ...base, info: { ...base.info, endpoints: ['zähler', '✓', '😀'] } },
      'apicrud',
    );
    expect(text).toContain('["z\\u00e4hler","\\u2713","\\ud83d\\ude00"]');
    expect(parseRecord(text, ref).info.endpoints).toEqual(['zähler', '✓', '😀']);
  });

  it('a value under another key is rejected by its name and id (the apicrud codec cannot bind it)', () => {
    const text = serializeRecord(base, 'apicrud');
    expect(() => parseRecord(text, { ...ref, instanceId: 'i-2' })).toThrow('record names another instance');
    expect(() => parseRecord(text, { ...ref, service: 'other' })).toThrow('record names another service');
  });

  it('round-trips any record as printable ASCII', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter(isValidName);
    const anyText = fc.string({
      unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      maxLength: 10,
    });
    const instance = fc.record({
      name: fc.constant('main'),
      id: fc.constant('i-1'),
      info: fc.record({
        endpoints: fc.uniqueArray(name, { maxLength: 6 }),
        ipv4: fc.option(fc.ipV4(), { nil: null }),
        port: fc.integer({ min: 1, max: 65535 }),
        publicUrl: fc.webUrl(),
        created: fc.constant('2026-11-26T12:00:00'),
      }),
      status: fc.constantFrom(...INSTANCE_STATUSES),
      meta: fc.dictionary(name, anyText, { maxKeys: 4 }),
      expiresAt: fc.option(fc.integer({ min: 0 }), { nil: null }),
    });
    fc.assert(
      fc.property(instance, (record) => {
        const text = serializeRecord(record, 'apicrud');
        expect(text).toMatch(/^[\x20-\x7e]*$/);
        expect(parseRecord(text, ref)).toEqual(record);
      }),
      { numRuns: 300 },
    );
  });
});
