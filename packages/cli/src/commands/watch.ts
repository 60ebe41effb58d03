import type { FindResult, Instance } from '@service-registry/core';
import type { Connection } from '../connect.js';
import { EXIT } from '../exit.js';
import type { Io } from '../output.js';

export type WatchEvent = 'present' | 'added' | 'removed' | 'updated';

const identity = (instance: Instance) => `${instance.name}/${instance.id}`;

/** What a watcher reports as a change: what each instance serves and reports, not its expiry. */
const content = (instance: Instance) => JSON.stringify([instance.status, instance.info, instance.meta]);

function describeUpdate(previous: Instance, current: Instance): string {
  const changes: string[] = [];
  if (previous.status !== current.status) changes.push(`status ${previous.status} -> ${current.status}`);
  if (JSON.stringify(previous.info) !== JSON.stringify(current.info)) changes.push('info changed');
  if (JSON.stringify(previous.meta) !== JSON.stringify(current.meta)) changes.push('meta changed');
  return changes.join(', ');
}

/** `watch [service]`: one line per change, until interrupted. Resolves with the exit code. */
export async function watchCommand(
  connection: Connection,
  service: string | undefined,
  flags: { json?: boolean; interval?: string },
  io: Io,
  stopSignal: Promise<unknown>,
): Promise<number> {
  const pollInterval = flags.interval === undefined ? 2 : Number(flags.interval);
  let known: Map<string, Instance> | undefined;
  const emit = (event: WatchEvent, instance: Instance, detail = '') => {
    const time = new Date().toISOString();
    if (flags.json) {
      io.out(`${JSON.stringify({ time, event, service: instance.name, id: instance.id, instance })}\n`);
      return;
    }
    const parts = [time, event.padEnd(7), identity(instance), instance.status, instance.info.publicUrl];
    io.out(`${[...parts, detail].filter(Boolean).join(' ')}\n`);
  };
  const onChange = (result: FindResult) => {
    const current = new Map(result.instances.map((instance) => [identity(instance), instance]));
    if (known === undefined) {
      for (const instance of current.values()) emit('present', instance);
    } else {
      for (const [key, instance] of current) {
        const previous = known.get(key);
        if (previous === undefined) emit('added', instance);
        else if (content(previous) !== content(instance))
          emit('updated', instance, describeUpdate(previous, instance));
      }
      for (const [key, instance] of known) if (!current.has(key)) emit('removed', instance);
    }
    known = current;
  };
  const stop = await connection.registry.watch(onChange, { service, pollInterval });
  await stopSignal;
  await stop();
  return EXIT.ok;
}
