import type { Socket } from 'node:net';

/** What a traced client wrote to its sockets. */
export interface ClientTrace {
  /**
   * Socket writes: a pipeline is one write, and so are the writes made while the socket is corked
   * (they leave together at `uncork`), so sequential round trips show up as separate writes.
   */
  readonly writes: number;
  /** The name (first argument, lowercased) of every command written, in order. */
  readonly commands: readonly string[];
  /** Stops tracing and restores the sockets. */
  stop(): void;
}

/** An ioredis `Redis` (one `stream`) or `Cluster` (one per node). */
export type TraceableClient = { stream?: Socket } | { nodes(role?: 'all'): { stream?: Socket }[] };

// Command names out of RESP written by a client: each command is `*<n>\r\n$<len>\r\n<name>\r\n...`.
// Decoded as latin1, one character per byte, so RESP byte lengths index the text directly.
function commandNames(chunk: string | Uint8Array): string[] {
  const text = (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk)).toString(
    'latin1',
  );
  const names: string[] = [];
  let position = 0;
  while (text[position] === '*') {
    const countEnd = text.indexOf('\r\n', position);
    const count = Number(text.slice(position + 1, countEnd));
    position = countEnd + 2;
    for (let index = 0; index < count; index++) {
      const lengthEnd = text.indexOf('\r\n', position);
      const length = Number(text.slice(position + 1, lengthEnd));
      if (index === 0) names.push(text.slice(lengthEnd + 2, lengthEnd + 2 + length).toLowerCase());
      position = lengthEnd + 2 + length + 2;
    }
  }
  return names;
}

/**
 * Wraps the sockets of an ioredis client to count writes and the commands in them, so a test can
 * show that an operation is one round trip. Connections made after the call are not traced.
 */
export function traceClient(client: TraceableClient): ClientTrace {
  const sockets = 'nodes' in client ? client.nodes('all').map((node) => node.stream) : [client.stream];
  const commands: string[] = [];
  let writes = 0;
  const restore: (() => void)[] = [];
  for (const socket of sockets) {
    if (!socket) continue;
    const original = socket.write;
    const originalUncork = socket.uncork;
    // Writes made while the socket is corked go out together: they count as one.
    let corkedBatch = false;
    socket.write = function (this: Socket, chunk: string | Uint8Array, ...rest: unknown[]) {
      if (this.writableCorked === 0 || !corkedBatch) writes++;
      if (this.writableCorked > 0) corkedBatch = true;
      commands.push(...commandNames(chunk));
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Socket['write'];
    socket.uncork = function (this: Socket) {
      originalUncork.call(this);
      if (this.writableCorked === 0) corkedBatch = false;
    };
    restore.push(() => {
      socket.write = original;
      socket.uncork = originalUncork;
    });
  }
  return {
    get writes() {
      return writes;
    },
    commands,
    stop: () => {
      for (const undo of restore) undo();
    },
  };
}
