import { type KeyLayout, RegistryError, type RegistryStore, type StoredRecord } from '@service-registry/core';
import {
  apicrudRecords,
  apicrudScanCommand,
  apicrudScanPattern,
  apicrudStoreView,
  keySlot,
  scanKeys,
} from '@service-registry/redis-layout';
import type { RedisClientLike, RedisNodeLike } from './client.js';

/** What the apicrud view shares with the store it belongs to. */
export interface ApicrudViewContext {
  readonly client: RedisClientLike;
  readonly keyPrefix: string;
  readonly layouts: readonly KeyLayout[];
  attempt<T>(operation: string, action: () => Promise<T>): Promise<T>;
  withLayout(layout: KeyLayout): RegistryStore;
  close(): Promise<void>;
}

const send = (node: RedisNodeLike, command: readonly string[]): Promise<unknown> =>
  node.call(command[0] as string, ...command.slice(1));

/**
 * The store in Python apicrud's key layout (see `@service-registry/redis-layout`'s `apicrud.ts`):
 * `SET ns:svc:id value EX seconds`, `DEL`, and listing by SCAN of every master, reading values while
 * the scan goes on. No watch: apicrud writers publish nothing, so core polls.
 */
export function apicrudView(context: ApicrudViewContext) {
  const { client, keyPrefix, attempt } = context;

  async function masters(): Promise<readonly RedisNodeLike[]> {
    if (!client.isCluster) return [client];
    let nodes = client.nodes?.('master') ?? [];
    if (nodes.length === 0) {
      // A Cluster learns its nodes when it connects; a routed command waits for that.
      await client.call('PING');
      nodes = client.nodes?.('master') ?? [];
    }
    if (nodes.length === 0) throw new RegistryError('store-unavailable', 'the redis cluster knows no master');
    return nodes;
  }

  async function list(namespace: string, service?: string): Promise<StoredRecord[]> {
    const pattern = apicrudScanPattern(namespace, service, keyPrefix);
    const reads: Promise<StoredRecord[]>[] = [];
    const read = (found: string[]) => {
      // On a Cluster keys of different slots cannot share an MGET, even on one node.
      const groups = new Map<number, string[]>();
      for (const key of found) {
        const slot = client.isCluster ? keySlot(key) : 0;
        const group = groups.get(slot);
        // The client prefixes what it sends; SCAN does not strip what it returns.
        if (group) group.push(key.slice(keyPrefix.length));
        else groups.set(slot, [key.slice(keyPrefix.length)]);
      }
      for (const keys of groups.values()) {
        const reading = send(client, ['MGET', ...keys]).then((values) =>
          apicrudRecords(namespace, keys, values),
        );
        // Awaited below; until then a failure must not count as unhandled.
        reading.catch(() => {});
        reads.push(reading);
      }
    };
    const seen = new Set<string>();
    const nodes = await masters();
    await Promise.all(
      nodes.map((node) => scanKeys((cursor) => send(node, apicrudScanCommand(cursor, pattern)), read, seen)),
    );
    return (await Promise.all(reads)).flat();
  }

  return apicrudStoreView({
    name: 'redis',
    layouts: context.layouts,
    attempt,
    send: (command) => send(client, command),
    list,
    withLayout: context.withLayout,
    close: context.close,
  });
}
