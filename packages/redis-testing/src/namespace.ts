import type { Cluster, Redis } from 'ioredis';

/** A namespace no other run uses, e.g. `t-m3x9k2-4f7a1c9e`: valid as a registry name. */
export function randomNamespace(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Escapes SCAN MATCH glob characters so `text` matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Deletes every key under `<namespace>:` (on every master of a Cluster): the cleanup a test owes a
 * shared Redis. SCAN is fine here; the store itself never scans.
 */
export async function deleteNamespace(client: Redis | Cluster, namespace: string): Promise<number> {
  const nodes = 'nodes' in client && client.isCluster ? client.nodes('master') : [client as Redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(namespace)}:*`, 'COUNT', 1000);
      cursor = next;
      // One key per command: in a Cluster, keys of different slots cannot share a command.
      if (keys.length > 0) {
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
        deleted += keys.length;
      }
    } while (cursor !== '0');
  }
  return deleted;
}

/**
 * Deletes every key under `<namespace>:` as a restart or `FLUSHALL` would for the namespace: the keys
 * of one hash tag (one service's records, index and counter) go in one UNLINK, at the same instant,
 * never one by one. On a shared Redis, this is the flush a test may do.
 */
export async function flushNamespace(client: Redis | Cluster, namespace: string): Promise<number> {
  const cluster = 'nodes' in client && client.isCluster;
  const nodes = cluster ? client.nodes('master') : [client as Redis];
  let deleted = 0;
  for (const node of nodes) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', `${escapeGlob(namespace)}:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    if (keys.length === 0) continue;
    if (!cluster) {
      // One command: nothing runs between the first key's deletion and the last's.
      deleted += await node.unlink(...keys);
      continue;
    }
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const tag = /\{([^}]+)\}/.exec(key)?.[1] ?? key;
      const group = groups.get(tag);
      if (group) group.push(key);
      else groups.set(tag, [key]);
    }
    const pipeline = node.pipeline();
    for (const group of groups.values()) pipeline.unlink(...group);
    await pipeline.exec();
    deleted += keys.length;
  }
  return deleted;
}
