import { createConnection } from 'node:net';

// A one-shot RESP2 client for the harness itself (PING, CLUSTER INFO), so starting a server never
// depends on the client library under test.

type Reply = string | number | null;

function parseReply(buffer: Buffer): { reply: Reply | Error } | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd === -1) return undefined;
  const kind = String.fromCharCode(buffer[0] ?? 0);
  const line = buffer.subarray(1, lineEnd).toString('utf8');
  if (kind === '+') return { reply: line };
  if (kind === '-') return { reply: new Error(line) };
  if (kind === ':') return { reply: Number(line) };
  if (kind === '$') {
    const length = Number(line);
    if (length < 0) return { reply: null };
    if (buffer.length < lineEnd + 2 + length + 2) return undefined;
    return { reply: buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString('utf8') };
  }
  return { reply: new Error(`unsupported reply type ${JSON.stringify(kind)}`) };
}

/** Sends one command to `host:port` on a fresh connection and resolves with its (non-array) reply. */
export function sendCommand(
  port: number,
  args: readonly string[],
  host = '127.0.0.1',
  timeoutMs = 2000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let received = Buffer.alloc(0);
    const finish = (error: Error | undefined, reply?: Reply) => {
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
      const parsed = parseReply(received);
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
