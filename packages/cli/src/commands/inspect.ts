import { assertName, parseRecord, recordKey } from '@service-registry/core';
import type { Connection } from '../connect.js';
import { EXIT } from '../exit.js';
import { type Io, json } from '../output.js';

/** What the stored value says about itself, before decryption. */
function describeValue(value: string): { codec: string; keyId: string | null } {
  const gcm = /^(g[12])\.([A-Za-z0-9_-]+)\./.exec(value);
  if (gcm) return { codec: `gcm (${gcm[1]})`, keyId: gcm[2] as string };
  return { codec: 'apicrud (AES-CBC)', keyId: null };
}

/** `inspect <service> <id>`: the decrypted record, its key, ttl left, size, codec and key id. */
export async function inspectCommand(
  connection: Connection,
  service: string,
  instanceId: string,
  flags: { json?: boolean },
  io: Io,
): Promise<number> {
  assertName(service, 'service name');
  assertName(instanceId, 'instance id');
  const records = await connection.store.list(connection.namespace, service);
  const record = records.find(
    (candidate) => candidate.instanceId === instanceId && candidate.key === undefined,
  );
  if (record === undefined) {
    io.err(`no record ${service}/${instanceId} in namespace ${connection.namespace}\n`);
    return EXIT.notFound;
  }
  const ref = { namespace: connection.namespace, service, instanceId };
  const storeKey = connection.storeKey(ref);
  const storeTtlMs = connection.raw ? await connection.raw.pttl(storeKey) : null;
  const { codec, keyId } = describeValue(record.value);
  let plaintext: unknown = null;
  let instance: unknown = null;
  let error: string | null = null;
  try {
    const text = await connection.codec.decode(record.value, recordKey(ref));
    plaintext = JSON.parse(text);
    instance = parseRecord(text, ref);
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  const expiresAt = (instance as { expiresAt?: number | null } | null)?.expiresAt ?? null;
  const report = {
    key: storeKey,
    size: new TextEncoder().encode(record.value).length,
    codec,
    keyId,
    ttlLeftMs: expiresAt === null ? null : expiresAt - Date.now(),
    storeTtlMs: storeTtlMs !== null && storeTtlMs >= 0 ? storeTtlMs : null,
    error,
    record: plaintext,
  };
  if (flags.json) io.out(json(report));
  else {
    const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
    io.out(
      [
        `key:        ${report.key}`,
        `size:       ${report.size} bytes`,
        `codec:      ${report.codec}`,
        `key id:     ${report.keyId ?? '-'}`,
        `ttl left:   ${seconds(report.ttlLeftMs)} (record's own expiry)`,
        `store ttl:  ${seconds(report.storeTtlMs)}`,
        error === null ? `record:\n${JSON.stringify(plaintext, null, 2)}` : `error:      ${error}`,
        '',
      ].join('\n'),
    );
  }
  return error === null ? EXIT.ok : EXIT.invalidRecord;
}
