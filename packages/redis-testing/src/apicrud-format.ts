import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

// The tests' own implementation of Python apicrud's record format, written from its description and
// not from core's codec, so it can judge core: key = SHA-256(secret), AES-256-CBC, random IV,
// PKCS#7, base64(iv || ciphertext).

const aesKey = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/** apicrud's `AESEncrypt` of `plaintext` (UTF-8) with `secret`. */
export function apicrudEncrypt(secret: string, plaintext: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey(secret), iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

/** apicrud's decryption of a value; throws when `secret` is not the one it was written with. */
export function apicrudDecrypt(secret: string, value: string): string {
  const bytes = Buffer.from(value, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', aesKey(secret), bytes.subarray(0, 16));
  return Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()]).toString('utf8');
}

/** Python's `json.dumps` with its defaults: `, ` and `: ` separators, non-ASCII escaped. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => `${pythonJson(key)}: ${pythonJson(item)}`);
    return `{${entries.join(', ')}}`;
  }
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The `info` dict apicrud's `update()` writes; unset fields get the defaults of `seedValue`. */
export interface SeedInfo {
  endpoints: string[];
  ipv4?: string | null;
  port?: number;
  public_url?: string;
  created?: string;
}

/** The value apicrud's `update()` writes: its `info` dict, in its field order, encrypted. */
export function seedValue(secret: string, info: SeedInfo): string {
  return apicrudEncrypt(
    secret,
    pythonJson({
      endpoints: info.endpoints,
      ipv4: info.ipv4 === undefined ? '10.0.0.7' : info.ipv4,
      port: info.port ?? 8080,
      public_url: info.public_url ?? 'https://api.example.com',
      created: info.created ?? '2026-11-26T20:00:00',
    }),
  );
}

/** One test vector made by Python apicrud's own `AESEncrypt`. */
export interface ApicrudVector {
  secret: string;
  plaintext: string;
  ciphertext: string;
}

/** The vectors in `shared/fixtures/apicrud-aes-vectors.json`, beside the repository. */
export function apicrudVectors(): ApicrudVector[] {
  const fixture = new URL('../../../../shared/fixtures/apicrud-aes-vectors.json', import.meta.url);
  return (JSON.parse(readFileSync(fixture, 'utf8')) as { cases: ApicrudVector[] }).cases;
}

/** The vector that is a whole registry record, as a Python apicrud service writes it. */
export function pythonRecordVector(): ApicrudVector {
  const record = apicrudVectors().find((vector) => vector.plaintext.startsWith('{"endpoints"'));
  if (!record) throw new Error('no registry record among the apicrud vectors');
  return record;
}
