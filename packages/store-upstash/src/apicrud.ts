import { type KeyLayout, RegistryError, type RegistryStore, type StoredRecord } from '@service-registry/core';
import {
  apicrudMgetCommands,
  apicrudRecords,
  apicrudScanCommand,
  apicrudScanPattern,
  apicrudStoreView,
  scanKeys,
} from '@service-registry/redis-layout';
import type { UpstashClientLike, UpstashPipelineReply } from './client.js';
import { PipelineCommandError } from './errors.js';

/** What the apicrud view shares with the store it belongs to. */
export interface ApicrudViewContext {
  readonly client: UpstashClientLike;
  readonly layouts: readonly KeyLayout[];
  attempt<T>(operation: string, action: () => Promise<T>): Promise<T>;
  withLayout(layout: KeyLayout): RegistryStore;
  close(): Promise<void>;
}

const malformed = (command: readonly string[]): Error =>
  new Error(`not an apicrud layout command: ${command[0]} with ${command.length - 1} arguments`);

/**
 * Sends one of redis-layout's apicrud commands (`SET k v EX s`, `DEL k`, `SCAN c MATCH p COUNT n`)
 * through the client's method for it: `@upstash/redis` has no generic command in a pipeline, and its
 * generic `exec` breaks under auto-pipelining, where it runs the batch instead of the command.
 */
function send(client: UpstashClientLike, command: readonly string[]): Promise<unknown> {
  const [name, first, ...rest] = command;
  if (first === undefined) throw malformed(command);
  if (name === 'SET' && rest.length === 3 && rest[1] === 'EX') {
    return client.set(first, rest[0] as string, { ex: Number(rest[2]) });
  }
  if (name === 'DEL' && rest.length === 0) return client.del(first);
  if (name === 'SCAN' && rest.length === 4 && rest[0] === 'MATCH' && rest[2] === 'COUNT') {
    return client.scan(first, { match: rest[1] as string, count: Number(rest[3]) });
  }
  throw malformed(command);
}

/** The MGET replies of one pipeline as one list of values, in key order. */
function values(replies: readonly UpstashPipelineReply[], commands: number): unknown[] {
  if (!Array.isArray(replies) || replies.length !== commands) {
    throw new Error(`the pipeline answered with ${String(replies?.length)} replies to ${commands} commands`);
  }
  return replies.flatMap((reply) => {
    if (reply.error !== undefined && reply.error !== null) throw new PipelineCommandError(reply.error);
    if (!Array.isArray(reply.result))
      throw new RegistryError('store-unavailable', 'unexpected reply to MGET');
    return reply.result as unknown[];
  });
}

/**
 * The store in Python apicrud's key layout (see `@service-registry/redis-layout`'s `apicrud.ts`):
 * a put is one `SET ns:svc:id value EX seconds` request, a delete one `DEL`; a list is one request
 * per SCAN page (COUNT 1000, so it grows with the whole database) plus one pipeline of MGETs for
 * the keys found. No watch: apicrud writers publish nothing, so core polls.
 */
export function apicrudView(context: ApicrudViewContext) {
  const { client, attempt } = context;

  async function list(namespace: string, service?: string): Promise<StoredRecord[]> {
    const pattern = apicrudScanPattern(namespace, service);
    const keys = await scanKeys((cursor) => send(client, apicrudScanCommand(cursor, pattern)));
    if (keys.length === 0) return [];
    const commands = apicrudMgetCommands(keys);
    const pipeline = client.pipeline();
    for (const command of commands) pipeline.mget(command.slice(1));
    const replies = await pipeline.exec({ keepErrors: true });
    return apicrudRecords(namespace, keys, values(replies, commands.length));
  }

  return apicrudStoreView({
    name: 'upstash',
    layouts: context.layouts,
    attempt,
    send: (command) => send(client, command),
    list,
    withLayout: context.withLayout,
    close: context.close,
  });
}
