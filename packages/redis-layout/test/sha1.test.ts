import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keySlot, scripts, sha1Hex } from '../src/index.js';

const nodeSha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

describe('sha1Hex', () => {
  it('matches node:crypto at every padding boundary and on non-ASCII text', () => {
    for (let length = 0; length <= 200; length++) {
      const text = 'x'.repeat(length);
      expect(sha1Hex(text), `length ${length}`).toBe(nodeSha1(text));
    }
    for (const text of ['abc', 'dienst-ü ✓ 🚀', 'a'.repeat(100_000)])
      expect(sha1Hex(text)).toBe(nodeSha1(text));
  });

  it('names every script by the SHA-1 of its source', () => {
    for (const script of scripts) expect(script.sha1, script.name).toBe(nodeSha1(script.source));
    expect(new Set(scripts.map((script) => script.sha1)).size).toBe(scripts.length);
  });
});

describe('keySlot', () => {
  it('is CRC16/XMODEM mod 16384 of the key, or of its first non-empty hash tag', () => {
    expect(keySlot('123456789')).toBe(0x31c3); // the CRC16/XMODEM check value
    expect(keySlot('{123456789}.anything')).toBe(0x31c3);
    expect(keySlot('a{123456789}b{c}')).toBe(0x31c3);
    expect(keySlot('{}123456789')).not.toBe(0x31c3); // an empty tag hashes the whole key
    expect(keySlot('ns:{api}:i-1')).toBe(keySlot('ns:index:{api}'));
  });
});
