import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does to traffic right now. All off by default: it then forwards bytes untouched. */
export interface FaultSettings {
  /** Share of chunks (either direction) held back before forwarding, 0 to 1. Default 0. */
  delayShare: number;
  /** Longest hold of a delayed chunk, in ms (uniform from 0). Default 300. */
  delayMaxMs: number;
  /** Share of chunks on which the connection is destroyed instead of forwarded, 0 to 1. Default 0. */
  dropShare: number;
  /** Reset every new connection at once (RST), as a full accept queue or a firewall REJECT would. Default false. */
  refuseNew: boolean;
  /**
   * A slow store: every reply chunk (Redis to client) is held between `replyDelayMinMs` and
   * `replyDelayMaxMs` (uniform), in order. Both 0 (the default): off.
   */
  replyDelayMinMs: number;
  /** See `replyDelayMinMs`. Default 0. */
  replyDelayMaxMs: number;
}

/** What the proxy did since it started. */
export interface FaultCounters {
  connectionsAccepted: number;
  connectionsRefused: number;
  /** Connections destroyed by `dropShare` or `dropConnections()`. */
  connectionsDropped: number;
  /** Client connections reset because Redis refused the upstream connection (Redis down). */
  upstreamFailures: number;
  chunksForwarded: number;
  chunksDelayed: number;
  /** Sum of the holds of delayed chunks, in ms. */
  delayTotalMs: number;
}

export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly counters: Readonly<FaultCounters>;
  readonly settings: Readonly<FaultSettings>;
  /** Changes some settings; the rest stay. */
  setFaults(settings: Partial<FaultSettings>): void;
  /** Back to plain forwarding. */
  clearFaults(): void;
  /** Destroys `share` (0 to 1) of the open connections now; returns how many. */
  dropConnections(share: number): number;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export const NO_FAULTS: Readonly<FaultSettings> = {
  delayShare: 0,
  delayMaxMs: 300,
  dropShare: 0,
  refuseNew: false,
  replyDelayMinMs: 0,
  replyDelayMaxMs: 0,
};

interface Queued {
  readonly releaseAt: number;
  readonly chunk: Buffer;
}

/**
 * A TCP proxy on 127.0.0.1 in front of one upstream port, with faults switched on and off at run time.
 * Delayed chunks keep their order within a connection (a chunk never overtakes an earlier one), so the
 * byte stream stays valid RESP: only timing and connection loss are faulted, never content.
 */
export async function startFaultProxy(
  upstreamPort: number,
  random: () => number = Math.random,
): Promise<FaultProxy> {
  let settings: FaultSettings = { ...NO_FAULTS };
  const counters: FaultCounters = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    connectionsDropped: 0,
    upstreamFailures: 0,
    chunksForwarded: 0,
    chunksDelayed: 0,
    delayTotalMs: 0,
  };
  // Each open client connection, with the function that drops it (both sides reset).
  const links = new Map<Socket, () => void>();

  const forward = (from: Socket, to: Socket, drop: () => void, replies: boolean): void => {
    const queue: Queued[] = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const flush = (): void => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && (queue[0] as Queued).releaseAt <= now) {
        const { chunk } = queue.shift() as Queued;
        if (!to.destroyed) to.write(chunk);
        counters.chunksForwarded++;
      }
      if (queue.length > 0) timer = setTimeout(flush, (queue[0] as Queued).releaseAt - now);
      else if (ended) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      if (settings.dropShare > 0 && random() < settings.dropShare) {
        drop();
        return;
      }
      const now = Date.now();
      let holdMs = 0;
      if (settings.delayShare > 0 && random() < settings.delayShare) {
        holdMs = Math.round(random() * settings.delayMaxMs);
        counters.chunksDelayed++;
        counters.delayTotalMs += holdMs;
      }
      if (replies && settings.replyDelayMaxMs > 0) {
        const { replyDelayMinMs: low, replyDelayMaxMs: high } = settings;
        const slowMs = Math.round(low + random() * (high - low));
        holdMs = Math.max(holdMs, slowMs);
        counters.chunksDelayed++;
        counters.delayTotalMs += slowMs;
      }
      const last = queue[queue.length - 1];
      const releaseAt = Math.max(now + holdMs, last?.releaseAt ?? 0);
      if (releaseAt <= now && queue.length === 0) {
        to.write(chunk);
        counters.chunksForwarded++;
        return;
      }
      queue.push({ releaseAt, chunk });
      if (timer === undefined) timer = setTimeout(flush, releaseAt - now);
    });
    from.on('end', () => {
      ended = true;
      if (queue.length === 0) to.end();
    });
  };

  const server: Server = createServer((client) => {
    if (settings.refuseNew) {
      counters.connectionsRefused++;
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    counters.connectionsAccepted++;
    client.setNoDelay(true);
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    upstream.setNoDelay(true);
    let connected = false;
    let closed = false;
    const closeBoth = (reset: boolean): void => {
      if (closed) return;
      closed = true;
      links.delete(client);
      for (const socket of [client, upstream]) {
        if (socket.destroyed) continue;
        if (reset) socket.resetAndDestroy();
        else socket.destroy();
      }
    };
    const drop = (): void => {
      if (closed) return;
      counters.connectionsDropped++;
      closeBoth(true);
    };
    links.set(client, drop);
    upstream.on('connect', () => {
      connected = true;
    });
    // Redis down: the client sees its connection reset, much as it would see a refusal from Redis itself.
    upstream.on('error', () => {
      if (!connected) counters.upstreamFailures++;
      closeBoth(!connected);
    });
    client.on('error', () => closeBoth(false));
    upstream.on('close', () => closeBoth(false));
    client.on('close', () => closeBoth(false));
    forward(client, upstream, drop, false);
    forward(upstream, client, drop, true);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    counters,
    get settings() {
      return settings;
    },
    setFaults(next) {
      settings = { ...settings, ...next };
    },
    clearFaults() {
      settings = { ...NO_FAULTS };
    },
    dropConnections(share) {
      let dropped = 0;
      for (const drop of [...links.values()]) {
        if (random() < share) {
          drop();
          dropped++;
        }
      }
      return dropped;
    },
    close() {
      for (const client of [...links.keys()]) client.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
