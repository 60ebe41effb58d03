import { Redis } from 'ioredis';

/** Anything that answers `INFO <section>` with the server's text, like an ioredis `Redis`. */
export interface InfoClient {
  info(section: string): Promise<string>;
}

/** `INFO commandstats` as `{ command: calls }`, e.g. `{ evalsha: 3, 'client|setinfo': 2 }`. */
export async function commandStats(client: InfoClient): Promise<Record<string, number>> {
  const text = await client.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)) {
    calls[match[1] as string] = Number(match[2]);
  }
  return calls;
}

/** What `countCommands` measured. */
export interface CommandCount<T> {
  readonly result: T;
  /**
   * Calls per command the server executed while `action` ran, from `INFO commandstats` deltas,
   * without the counter's own INFO. Commands that scripts run (`redis.call`) count here too.
   */
  readonly calls: Record<string, number>;
}

/**
 * Runs `action` and returns how many commands of each kind the server at `url` executed meanwhile.
 * Only meaningful on a server the test owns, with no other traffic.
 */
export async function countCommands<T>(url: string, action: () => Promise<T>): Promise<CommandCount<T>> {
  const counter = new Redis(url, { lazyConnect: true, enableReadyCheck: false, disableClientInfo: true });
  counter.on('error', () => {});
  try {
    await counter.connect();
    const before = await commandStats(counter);
    const result = await action();
    const after = await commandStats(counter);
    // The first snapshot's INFO is counted in the second one; the second does not count itself.
    after.info = (after.info ?? 0) - 1;
    const calls: Record<string, number> = {};
    for (const [command, count] of Object.entries(after)) {
      const delta = count - (before[command] ?? 0);
      if (delta > 0) calls[command] = delta;
    }
    return { result, calls };
  } finally {
    counter.disconnect();
  }
}
