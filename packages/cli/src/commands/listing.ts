import type { Connection } from '../connect.js';
import { EXIT } from '../exit.js';
import { formatTable, INSTANCE_HEADER, type Io, instanceRow, json } from '../output.js';

/** `ls [service]`: the live instances, as a table or JSON. */
export async function listCommand(
  connection: Connection,
  service: string | undefined,
  flags: { json?: boolean; status?: string },
  io: Io,
): Promise<number> {
  const result = await connection.registry.find(service);
  const statuses = flags.status?.split(',').map((status) => status.trim());
  const instances = statuses
    ? result.instances.filter((instance) => statuses.includes(instance.status))
    : result.instances;
  if (flags.json) {
    io.out(json(instances));
    return EXIT.ok;
  }
  if (instances.length === 0) {
    io.err(`no instances${service ? ` of ${service}` : ''} in namespace ${connection.namespace}\n`);
    return EXIT.ok;
  }
  const now = Date.now();
  io.out(
    `${formatTable(
      INSTANCE_HEADER,
      instances.map((instance) => instanceRow(instance, now)),
    )}\n`,
  );
  if (result.rejected > 0)
    io.err(`${result.rejected} record(s) skipped: see \`service-registry rejected\`\n`);
  return EXIT.ok;
}

/** `url-map`: resource -> public URL, with conflicts on stderr (and in the JSON). */
export async function urlMapCommand(
  connection: Connection,
  flags: { json?: boolean },
  io: Io,
): Promise<number> {
  const result = await connection.registry.find();
  if (flags.json) {
    io.out(json({ urlMap: result.urlMap, conflicts: result.conflicts }));
    return EXIT.ok;
  }
  const rows = Object.entries(result.urlMap)
    .sort(([left], [right]) => (left < right ? -1 : 1))
    .map(([resource, url]) => [resource, url]);
  if (rows.length === 0) io.err(`the url map of namespace ${connection.namespace} is empty\n`);
  else io.out(`${formatTable(['resource', 'public url'], rows)}\n`);
  for (const conflict of result.conflicts) {
    io.err(
      `conflict: ${conflict.resource} is served from ${conflict.urls.join(' and ')} (${conflict.instances.join(', ')})\n`,
    );
  }
  return EXIT.ok;
}

/** `rejected`: records that fail to decrypt or validate, with the reason. */
export async function rejectedCommand(
  connection: Connection,
  flags: { json?: boolean },
  io: Io,
): Promise<number> {
  const rejected: { key: string; reason: string }[] = [];
  const off = connection.registry.on('rejected-record', (payload) => rejected.push(payload));
  try {
    await connection.registry.find();
  } finally {
    off();
  }
  rejected.sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
  if (flags.json) {
    io.out(json(rejected));
    return EXIT.ok;
  }
  if (rejected.length === 0) {
    io.err(`no rejected records in namespace ${connection.namespace}\n`);
    return EXIT.ok;
  }
  io.out(
    `${formatTable(
      ['key', 'reason'],
      rejected.map(({ key, reason }) => [key, reason]),
    )}\n`,
  );
  io.err(
    'a wrong secret shows as an authentication failure; an old format or another program as a schema error\n',
  );
  return EXIT.ok;
}
