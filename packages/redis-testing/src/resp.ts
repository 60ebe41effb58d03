import { createConnection } from 'node:net';

// A one-shot RESP2 client for the harness itself (PING, CLUSTER INFO, SENTINEL ...), so starting a server never
// depends on the client library under test.

/** A RESP2 reply: simple and bulk strings, integers, nil, and arrays of those (nested). */
export type RespReply = string | number | null | RespReply[];

type Parsed = { reply: RespReply | Error; end: number };

/** Parses one reply starting at `start`, or `undefined` while it is incomplete. */
function parseAt(buffer: Buffer, start: number): Parsed | undefined {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd === -1) return undefined;
  const kind = String.fromCharCode(buffer[start] ?? 0);
  const line = buffer.subarray(start + 1, lineEnd).toString('utf8');
  const next = lineEnd + 2;
  if (kind === '+') return { reply: line, end: next };
  if (kind === '-') return { reply: new Error(line), end: next };
  if (kind === ':') return { reply: Number(line), end: next };
  if (kind === '$') {
    const length = Number(line);
    if (length < 0) return { reply: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { reply: buffer.subarray(next, next + length).toString('utf8'), end: next + length + 2 };
  }
  if (kind === '*') {
    const count = Number(line);
    if (count < 0) return { reply: null, end: next };
    const items: RespReply[] = [];
    let at = next;
    for (let index = 0; index < count; index++) {
      const item = parseAt(buffer, at);
      if (!item) return undefined;
      // An error inside an array (a MULTI reply) fails the whole command: the harness never expects one.
      if (item.reply instanceof Error) return item;
      items.push(item.reply);
      at = item.end;
    }
    return { reply: items, end: at };
  }
  return { reply: new Error(`unsupported reply type ${JSON.stringify(kind)}`), end: next };
}

/** Sends one command to `host:port` on a fresh connection and resolves with its reply. */
export function sendCommand(
  port: number,
  args: readonly string[],
  host = '127.0.0.1',
  timeoutMs = 2000,
): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let received = Buffer.alloc(0);
    const finish = (error: Error | undefined, reply?: RespReply) => {
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    socket.setTimeout(timeoutMs, () =>
      finish(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)),
    );
    socket.on('error', (error) => finish(error));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseAt(received, 0);
      if (parsed) parsed.reply instanceof Error ? finish(parsed.reply) : finish(undefined, parsed.reply);
    });
    const encoded = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('');
    socket.write(`*${args.length}\r\n${encoded}`);
  });
}

/** Resolves once `host:port` answers PING, or rejects after `timeoutMs`. */
export async function waitForPing(port: number, timeoutMs = 10_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const reply = await sendCommand(port, ['PING'], host, 1000);
      if (reply === 'PONG') return;
      lastError = new Error(`PING answered ${JSON.stringify(reply)}`);
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`redis on ${host}:${port} did not answer PING`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
