import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Anything that answers a fetch `Request`, e.g. `createDiscoveryHandler(...)`. */
export type FetchHandler = (request: Request) => Promise<Response>;

/** Most bytes of a request body read (the handler only answers GET; bodies are ignored). */
const MAX_BODY_BYTES = 64 * 1024;

function toRequest(message: IncomingMessage, signal: AbortSignal): Request {
  const host = message.headers.host ?? 'localhost';
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  // Bodies are never read by the discovery routes: drain them so the socket stays usable.
  let received = 0;
  message.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_BODY_BYTES) message.destroy();
  });
  return new Request(new URL(message.url ?? '/', `http://${host}`), {
    method: message.method,
    headers,
    signal,
  });
}

async function send(response: Response, out: ServerResponse, stop: () => void): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = name === 'set-cookie' ? response.headers.getSetCookie() : value;
  });
  out.writeHead(response.status, headers);
  if (response.body === null) {
    out.end();
    return;
  }
  // Written chunk by chunk, so a server-sent-events stream reaches the client as it is produced.
  out.flushHeaders();
  const reader = response.body.getReader();
  out.once('close', () => {
    stop();
    reader.cancel().catch(() => {});
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!out.write(value)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  out.end();
}

/** A `node:http` request listener that answers with a fetch handler, streaming bodies and aborting on disconnect. */
export function toNodeListener(
  handler: FetchHandler,
): (message: IncomingMessage, out: ServerResponse) => void {
  return (message, out) => {
    const controller = new AbortController();
    out.once('close', () => controller.abort());
    let request: Request;
    try {
      request = toRequest(message, controller.signal);
    } catch {
      out.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      out.end('{"error":{"code":"bad-request","message":"malformed request"}}\n');
      return;
    }
    handler(request)
      .then((response) => send(response, out, () => controller.abort()))
      .catch(() => {
        if (!out.headersSent) {
          out.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          out.end('{"error":{"code":"internal","message":"internal error"}}\n');
        } else {
          out.destroy();
        }
      });
  };
}

/** Options of `serve`. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Address to listen on. Default `127.0.0.1` (only this machine: expose it on purpose). */
  readonly host?: string;
}

/** A running server. */
export interface NodeServer {
  /** E.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops listening and ends open connections (event streams included). */
  close(): Promise<void>;
}

/** Serves a fetch handler with `node:http`. */
export async function serve(handler: FetchHandler, options: ServeOptions = {}): Promise<NodeServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
