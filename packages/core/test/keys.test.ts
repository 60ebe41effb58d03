import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../src/errors.js';
import { recordKey } from '../src/record.js';
import { assertName, isValidName, MAX_NAME_LENGTH } from '../src/validate.js';

// An oracle written apart from validate.ts, from the rules themselves: what one part of
// `<namespace>:<service>:<instanceId>` may not hold.
const KEY_SYNTAX = new Set([':', '{', '}', '*', '?', '[', ']', '\\']);
// Every code point JavaScript's `\s` matches (WhiteSpace and LineTerminator in ECMA-262).
const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);
const isControl = (code: number) => code <= 0x1f || (code >= 0x7f && code <= 0x9f);
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

function expectedValid(text: string): boolean {
  if (text.length < 1 || text.length > 128) return false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(index + 1))) {
      index++;
      continue;
    }
    // An unpaired surrogate is written to Redis as U+FFFD, so `a\uD800` and `a\uFFFD` would share a key.
    if (isHighSurrogate(code) || isLowSurrogate(code)) return false;
    if (KEY_SYNTAX.has(text.charAt(index)) || WHITESPACE.has(code) || isControl(code)) return false;
  }
  return true;
}

// Characters on both sides of every rule, so short random strings often hit a boundary.
const edgeChars = [
  ...'azAZ09-_.~@/|%+=!$&()<>,;\'"`^#',
  ...KEY_SYNTAX,
  ...[...WHITESPACE].map((code) => String.fromCharCode(code)),
  '\u0000',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u009f',
  '\u00a1',
  '\u200b', // zero-width space: not \s, so allowed
  '\ufffd',
  '\ud800',
  '\udfff',
  '\ud83d\ude00', // a surrogate pair (one code point)
  'é',
  'ß',
  '中',
];
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyText = fc.oneof(
  fc.string({ unit: fc.constantFrom(...edgeChars), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: utf16Unit, maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  // Around the length limit.
  fc
    .tuple(fc.integer({ min: 120, max: 136 }), fc.constantFrom('', ':', ' ', '\ud800', 'é'))
    .map(([length, extra]) => `${'n'.repeat(length)}${extra}`),
);
const nameUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'abcXYZ019-_.~@/é中') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
);
const validName = fc.string({ unit: nameUnit, minLength: 1, maxLength: 40 }).filter(isValidName);

describe('names that can be one part of a record key', () => {
  it('isValidName and assertName accept exactly the strings the rules allow', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const valid = expectedValid(text);
        expect(isValidName(text)).toBe(valid);
        let thrown: unknown;
        try {
          assertName(text, 'instance id');
        } catch (error) {
          thrown = error;
        }
        if (valid) expect(thrown).toBeUndefined();
        else
          expect(thrown).toSatisfy(
            (error) => error instanceof RegistryError && error.code === 'invalid-name',
          );
      }),
      { numRuns: 2000 },
    );
  });

  it('anything that is not a string is refused with invalid-name', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true }),
        (value) => {
          fc.pre(typeof value !== 'string');
          expect(isValidName(value)).toBe(false);
          expect(() => assertName(value, 'service name')).toThrow(RegistryError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the limits are 1 and 128 UTF-16 units, and an unpaired surrogate is refused', () => {
    expect(MAX_NAME_LENGTH).toBe(128);
    expect(isValidName('')).toBe(false);
    expect(isValidName('n'.repeat(128))).toBe(true);
    expect(isValidName('n'.repeat(129))).toBe(false);
    expect(isValidName('a\ud800')).toBe(false);
    expect(isValidName('a\udc00b')).toBe(false);
    expect(isValidName('a\ufffd')).toBe(true);
    expect(isValidName('a\ud83d\ude00')).toBe(true);
  });
});

describe('record keys', () => {
  const triple = fc.tuple(validName, validName, validName);
  const refOf = ([namespace, service, instanceId]: [string, string, string]) => ({
    namespace,
    service,
    instanceId,
  });

  it('an accepted triple splits back into exactly its three parts', () => {
    fc.assert(
      fc.property(triple, (parts) => {
        expect(recordKey(refOf(parts)).split(':')).toEqual(parts);
      }),
      { numRuns: 500 },
    );
  });

  it('two different accepted triples never share a key, as a string or as UTF-8 bytes', () => {
    fc.assert(
      fc.property(triple, triple, (left, right) => {
        fc.pre(left.join('\u0000') !== right.join('\u0000'));
        const leftKey = recordKey(refOf(left));
        const rightKey = recordKey(refOf(right));
        expect(leftKey).not.toBe(rightKey);
        // Redis compares bytes: the string-level difference must survive UTF-8 encoding.
        expect(Buffer.from(leftKey, 'utf8').equals(Buffer.from(rightKey, 'utf8'))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("a service's listing prefix never matches another service's keys", () => {
    // Shares parts on purpose, so the prefixes are often close.
    const close = fc
      .tuple(validName, validName, validName, fc.boolean(), fc.boolean())
      .chain(([namespace, service, instanceId, sameNamespace, sameService]) =>
        fc.tuple(
          fc.constant({ namespace, service, instanceId }),
          fc.record({
            namespace: sameNamespace ? fc.constant(namespace) : validName.map((name) => namespace + name),
            service: sameService ? fc.constant(service) : validName.map((name) => service + name),
            instanceId: validName,
          }),
        ),
      );
    fc.assert(
      fc.property(close, ([listed, other]) => {
        const prefix = `${listed.namespace}:${listed.service}:`;
        const same = listed.namespace === other.namespace && listed.service === other.service;
        expect(recordKey(other).startsWith(prefix)).toBe(same);
      }),
      { numRuns: 500 },
    );
  });

  it('the byte-level collision the surrogate rule prevents is real', () => {
    // What a UTF-8 client (ioredis, fetch) sends for a lone surrogate.
    expect(Buffer.from('a\ud800', 'utf8').equals(Buffer.from('a\ufffd', 'utf8'))).toBe(true);
    expect(isValidName('a\ud800')).toBe(false);
  });
});
