/**
 * An Upstash-REST-compatible HTTP server over a real Redis, for tests. The protocol, as
 * `@upstash/redis` 1.39 speaks it (pkg/http.ts, pkg/pipeline.ts) and Upstash documents it:
 *
 * - Requests: always `POST`, `Content-Type: application/json`, `Authorization: Bearer <token>`
 *   (`?_token=` also accepted). `POST /` carries one command as a JSON array (`["set","k","v"]`;
 *   the client turns numbers/booleans into JSON numbers/booleans, objects into JSON strings).
 *   `POST /pipeline` and `POST /multi-exec` carry an array of such arrays. Path-style commands
 *   (`GET /get/k`, a POST body as last argument) are the documented curl form; the client uses
 *   paths only for SSE (`/subscribe/...`, `/monitor`), which this server does not offer.
 * - Responses: `{ "result": x }` where x is null, an integer, a string or a (nested) array, in
 *   RESP2 shapes (HGETALL a flat array, scores strings). Pipelines and transactions answer an
 *   array of `{ result }` / `{ error }`, one per command, status 200 even when some failed.
 * - `Upstash-Encoding: base64` (sent by default): every string in a result is base64 of the raw
 *   bytes, except a top-level "OK"; integers and null stay as they are; errors are never encoded.
 *   The client decodes with atob + UTF-8, so it gets the same strings with or without the header;
 *   bytes that are not UTF-8 become U+FFFD either way (here, or in the client's TextDecoder).
 * - Errors: 400 `{ error: "ERR ..." }` for a failed or invalid command (the client throws
 *   `UpstashError` with that message plus ", command was: ..."), 401 for a bad token, 405 for
 *   other methods, 500 `{ error }` when Redis is unreachable. A transaction refused as a whole
 *   (EXECABORT, an unsupported command) is a single 400 `{ error }`.
 * - `Upstash-Sync-Token`: the client sends the last token it saw (readYourWrites, on by default)
 *   and stores the one in each response; one Redis is always consistent, so this server just
 *   hands out a counter. `Upstash-Response-Format: resp2` is not supported (400).
 * - The client retries only when fetch itself throws (dropped connection), with
 *   `retry.retries` (default 5) extra attempts; `retry: false` still makes 2 attempts.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  CommandRejection,
  createCommandPolicy,
  DEFAULT_DENIED_COMMANDS,
  type ParsedCommand,
  parseCommand,
  parseCommandList,
  parseJsonBody,
  parsePathCommand,
} from './commands.js';
import { closeConnection, openConnection } from './connection.js';
import { encodeReply } from './encoding.js';
import { type CommandOutcome, createExecutor, RedisUnavailableError } from './executor.js';
import { createFaultController, type FaultController, truncateBody } from './faults.js';

export interface UpstashTestServerOptions {
  /** An ioredis client (left open by `close()`) or a Redis URL. Default: `REDIS_URL`, else redis://127.0.0.1:6379. */
  redis?: Redis | string;
  /** The bearer token clients must send. Default: 32 random hex characters. */
  token?: string;
  /** TCP port to listen on. Default 0: any free port. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Commands ("NAME" or "NAME SUBCOMMAND") refused with an error. Default: `DEFAULT_DENIED_COMMANDS`. */
  deniedCommands?: readonly string[];
}

/** A command the server sent to Redis. */
export interface ExecutedCommand {
  /** The request path it came through: `/`, `/pipeline`, `/multi-exec` or a path-style command. */
  path: string;
  /** Upper-cased command name. */
  name: string;
  args: string[];
}

/** Live counters, updated in place (a reference taken once stays current). */
export interface RequestCounts {
  /** Every HTTP request received, including refused and faulted ones. */
  total: number;
  /** Requests per URL path. */
  byPath: Record<string, number>;
  /** Commands sent to Redis, in order. */
  commands: ExecutedCommand[];
}

export interface UpstashTestServer {
  /** Base URL for `new Redis({ url })`, e.g. http://127.0.0.1:43121. */
  url: string;
  token: string;
  requests: RequestCounts;
  /** Zeroes `requests` in place. */
  resetCounts(): void;
  faults: FaultController;
  /** Stops the HTTP server, drops open connections and closes any Redis connection it opened. */
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: unknown;
}

const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT']);

export async function createUpstashTestServer(
  options: UpstashTestServerOptions = {},
): Promise<UpstashTestServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const policy = createCommandPolicy(options.deniedCommands ?? DEFAULT_DENIED_COMMANDS);
  const faults = createFaultController();
  const requests: RequestCounts = { total: 0, byPath: {}, commands: [] };
  const closing = new AbortController();
  const { connection, owned } = openConnection(options.redis);
  let syncToken = 0;

  async function route(req: IncomingMessage, url: URL): Promise<Reply> {
    if (!ALLOWED_METHODS.has(req.method ?? '')) {
      return { status: 405, body: { error: 'ERR method not allowed' } };
    }
    const body = await readBody(req);
    if (!isAuthorized(req, url, token)) {
      return { status: 401, body: { error: 'WRONGPASS invalid or missing auth token' } };
    }
    const format = header(req, 'upstash-response-format');
    if (format !== undefined && format.toLowerCase() !== 'json') {
      return {
        status: 400,
        body: { error: `ERR response format '${format}' is not supported by the test server` },
      };
    }
    const base64 = header(req, 'upstash-encoding')?.toLowerCase() === 'base64';
    const path = url.pathname;
    const executor = createExecutor(connection, policy, (command: ParsedCommand) => {
      requests.commands.push({ path, name: command.upperName, args: command.args });
    });
    const encode = (outcome: CommandOutcome) =>
      'error' in outcome ? { error: outcome.error } : { result: encodeReply(outcome.result, base64) };

    try {
      if (path === '/pipeline') {
        const outcomes = await executor.pipeline(parseCommandList(parseJsonBody(body)));
        return { status: 200, body: outcomes.map(encode) };
      }
      if (path === '/multi-exec') {
        const outcome = await executor.transaction(parseCommandList(parseJsonBody(body)));
        if ('error' in outcome) return { status: 400, body: { error: outcome.error } };
        return { status: 200, body: outcome.results.map(encode) };
      }
      const command =
        path === '/' ? parseCommand(parseJsonBody(body)) : parsePathCommand(path, url.searchParams, body);
      const outcome = await executor.single(command);
      return { status: 'error' in outcome ? 400 : 200, body: encode(outcome) };
    } catch (error) {
      if (error instanceof CommandRejection) return { status: 400, body: { error: error.message } };
      if (error instanceof RedisUnavailableError) return { status: 500, body: { error: error.message } };
      throw error;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.total += 1;
    requests.byPath[url.pathname] = (requests.byPath[url.pathname] ?? 0) + 1;

    const fault = faults.take(url.pathname);
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'http-500') {
      send(res, { status: 500, body: { error: 'ERR injected fault: internal server error' } });
      return;
    }
    if (fault?.kind === 'delay') {
      const waited = await sleep(fault.delayMs, true, { signal: closing.signal }).catch(() => false);
      // A client that gave up has closed its socket: like a request lost in transit, it never runs.
      if (!waited || req.socket.destroyed) {
        req.socket.destroy();
        return;
      }
    }
    const reply = await route(req, url);
    if (fault?.kind === 'malformed') {
      send(res, { status: 200, body: reply.body }, true);
      return;
    }
    send(res, reply);
  }

  function send(res: ServerResponse, reply: Reply, malformed = false): void {
    if (res.destroyed || res.headersSent) return;
    const json = JSON.stringify(reply.body);
    syncToken += 1;
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'upstash-sync-token': String(syncToken),
    });
    res.end(malformed ? truncateBody(json) : json);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      send(res, { status: 500, body: { error: `ERR test server failure: ${message}` } });
    });
  });

  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    if (owned) connection.disconnect();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    token,
    requests,
    faults,
    resetCounts() {
      requests.total = 0;
      for (const path of Object.keys(requests.byPath)) delete requests.byPath[path];
      requests.commands.length = 0;
    },
    async close() {
      closing.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (owned) await closeConnection(connection);
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1];
  return (bearer ?? url.searchParams.get('_token')) === token;
}
