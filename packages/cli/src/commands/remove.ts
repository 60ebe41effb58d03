import { assertName } from '@service-registry/core';
import type { Connection } from '../connect.js';
import { EXIT } from '../exit.js';
import type { Io } from '../output.js';

/** `deregister <service> <id>`: removes one record now (its process, if alive, writes it again). */
export async function deregisterCommand(
  connection: Connection,
  service: string,
  instanceId: string,
  io: Io,
): Promise<number> {
  assertName(service, 'service name');
  assertName(instanceId, 'instance id');
  const records = await connection.store.list(connection.namespace, service);
  if (!records.some((record) => record.instanceId === instanceId && record.key === undefined)) {
    io.err(`no record ${service}/${instanceId} in namespace ${connection.namespace}\n`);
    return EXIT.notFound;
  }
  await connection.store.delete({ namespace: connection.namespace, service, instanceId });
  io.out(`deregistered ${service}/${instanceId}\n`);
  io.err('a running instance writes its record again at its next refresh: stop it first\n');
  return EXIT.ok;
}

/** `purge`: every record of the namespace (and, on Redis, every key under `<namespace>:`). */
export async function purgeCommand(
  connection: Connection,
  flags: { yes?: boolean },
  io: Io,
): Promise<number> {
  const { namespace } = connection;
  const records = await connection.store.list(namespace);
  if (!flags.yes) {
    if (io.confirm === undefined) {
      io.err(`purge deletes ${records.length} record(s) of namespace ${namespace}: pass --yes to confirm\n`);
      return EXIT.declined;
    }
    if (!(await io.confirm(`Delete ${records.length} record(s) of namespace ${namespace}? [y/N] `))) {
      io.err('nothing deleted\n');
      return EXIT.declined;
    }
  }
  let deleted = 0;
  for (const record of records) {
    if (record.key !== undefined) continue;
    await connection.store.delete({ namespace, service: record.service, instanceId: record.instanceId });
    deleted++;
  }
  // Index and directory keys, and keys that are no record of any layout, go too.
  const keys = connection.raw ? await connection.raw.deleteNamespaceKeys(namespace) : 0;
  io.out(`purged namespace ${namespace}: ${deleted} record(s)${keys > 0 ? `, ${keys} other key(s)` : ''}\n`);
  return EXIT.ok;
}
