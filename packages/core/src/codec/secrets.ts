import { RegistryError } from '../errors.js';
import type { SecretInput } from './codec.js';

/** Rules for one codec's secrets. */
export interface SecretRules {
  /** Codec name, for messages. */
  readonly codec: string;
  /** Shortest accepted secret, in characters (Unicode code points). */
  readonly minLength: number;
}

function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Checks `secret` and returns it as a non-empty list (first encrypts, all decrypt). Throws
 * `invalid-secret` naming what is allowed and which entry is wrong; messages never quote a secret.
 */
export function normalizeSecrets(secret: SecretInput, rules: SecretRules): readonly string[] {
  const allowed =
    rules.minLength > 1
      ? `a string of at least ${rules.minLength} characters, or a non-empty list of such strings`
      : 'a non-empty string, or a non-empty list of such strings';
  const fail = (problem: string): never => {
    throw new RegistryError('invalid-secret', `${rules.codec} codec: secret must be ${allowed}; ${problem}`);
  };
  const list: readonly unknown[] =
    typeof secret === 'string' ? [secret] : Array.isArray(secret) ? secret : [];
  if (typeof secret !== 'string' && !Array.isArray(secret))
    fail(`got ${secret === null ? 'null' : typeof secret}`);
  if (list.length === 0) fail('got an empty list');
  const where = (index: number) => (typeof secret === 'string' ? 'the secret' : `secret[${index}]`);
  // Not forEach: it skips the holes of a sparse list, which then became keys derived from ''.
  for (const [index, entry] of list.entries()) {
    if (typeof entry !== 'string') fail(`${where(index)} is ${entry === null ? 'null' : typeof entry}`);
    else if (characterCount(entry) < Math.max(rules.minLength, 1)) fail(`${where(index)} is too short`);
  }
  return Object.freeze([...(list as readonly string[])]);
}
