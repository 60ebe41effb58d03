/** One Redis command from a request, arguments as strings. */
export interface ParsedCommand {
  /** As the client spelled it (Redis echoes it in "unknown command" errors). */
  name: string;
  /** Upper-cased, for comparisons. */
  upperName: string;
  args: string[];
}

/** Why a request body or a command in it was refused, in the REST API's `{ error }` wording. */
export class CommandRejection extends Error {
  override readonly name = 'CommandRejection';
}

/**
 * Commands a stateless HTTP request cannot serve: they change or block the shared connection.
 * Upstash refuses these too (transactions go through `/multi-exec`, pub/sub through SSE paths).
 */
const UNSUPPORTED = new Set([
  'ASKING',
  'AUTH',
  'BLMOVE',
  'BLMPOP',
  'BLPOP',
  'BRPOP',
  'BRPOPLPUSH',
  'BZMPOP',
  'BZPOPMAX',
  'BZPOPMIN',
  'CLIENT',
  'DISCARD',
  'EXEC',
  'HELLO',
  'MONITOR',
  'MULTI',
  'PSUBSCRIBE',
  'PSYNC',
  'PUNSUBSCRIBE',
  'QUIT',
  'READONLY',
  'READWRITE',
  'REPLCONF',
  'RESET',
  'SELECT',
  'SSUBSCRIBE',
  'SUBSCRIBE',
  'SUNSUBSCRIBE',
  'SYNC',
  'UNSUBSCRIBE',
  'UNWATCH',
  'WAIT',
  'WAITAOF',
  'WATCH',
]);

/**
 * Refused by default because the backing Redis is usually shared by other test runs: these wipe
 * or stop it, or drop every script (other clients' EVALSHA would start failing). Entries are a
 * command name or "NAME SUBCOMMAND".
 */
export const DEFAULT_DENIED_COMMANDS: readonly string[] = [
  'BGREWRITEAOF',
  'BGSAVE',
  'CONFIG SET',
  'CONFIG RESETSTAT',
  'DEBUG',
  'FAILOVER',
  'FLUSHALL',
  'FLUSHDB',
  'FUNCTION FLUSH',
  'REPLICAOF',
  'SAVE',
  'SCRIPT FLUSH',
  'SCRIPT KILL',
  'SHUTDOWN',
  'SLAVEOF',
  'SWAPDB',
];

/** Checks commands against what the server will forward to Redis. */
export interface CommandPolicy {
  /** Returns the error message for a refused command, or undefined when it may run. */
  refusal(command: ParsedCommand): string | undefined;
}

export function createCommandPolicy(denied: readonly string[]): CommandPolicy {
  const deniedSet = new Set(denied.map((entry) => entry.trim().replace(/\s+/g, ' ').toUpperCase()));
  return {
    refusal(command) {
      const { upperName } = command;
      const lower = upperName.toLowerCase();
      if (UNSUPPORTED.has(upperName)) {
        return `ERR Command is not available: '${lower}' (a stateless REST request cannot run it)`;
      }
      const subcommand = command.args[0]?.toUpperCase();
      if (deniedSet.has(upperName) || (subcommand && deniedSet.has(`${upperName} ${subcommand}`))) {
        return `ERR Command is not available: '${lower}' is disabled on this test server (see deniedCommands)`;
      }
      return undefined;
    },
  };
}

/** Parses one command: a non-empty JSON array of strings, numbers or booleans. */
export function parseCommand(value: unknown): ParsedCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new CommandRejection('ERR failed to parse command: expected a non-empty JSON array');
  }
  const parts = value.map((part, index) => {
    if (typeof part === 'string') return part;
    if (typeof part === 'number' || typeof part === 'boolean') return String(part);
    throw new CommandRejection(`ERR failed to parse command: argument ${index} is not a string or number`);
  });
  const [name = '', ...args] = parts;
  if (name === '') throw new CommandRejection('ERR failed to parse command: empty command name');
  return { name, upperName: name.toUpperCase(), args };
}

/** Parses a `/pipeline` or `/multi-exec` body: a non-empty JSON array of commands. */
export function parseCommandList(value: unknown): ParsedCommand[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new CommandRejection(
      'ERR failed to parse pipeline request: expected a non-empty JSON array of commands',
    );
  }
  return value.map((command) => parseCommand(command));
}

/** Parses a request body as JSON, with the REST API's error for anything else. */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new CommandRejection('ERR failed to parse request body as JSON');
  }
}

/**
 * A path-style command (`/set/foo/bar?EX=100`): segments are the command, query parameters
 * (except `_token`) are appended as `name value`, and a POST body becomes the last argument.
 */
export function parsePathCommand(pathname: string, search: URLSearchParams, body: Buffer): ParsedCommand {
  const segments = pathname.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  let parts: string[];
  try {
    parts = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    throw new CommandRejection('ERR failed to parse command: bad percent-encoding in the path');
  }
  if (body.length > 0) parts.push(body.toString('utf8'));
  for (const [key, value] of search) {
    if (key === '_token') continue;
    parts.push(key);
    if (value !== '') parts.push(value);
  }
  return parseCommand(parts);
}
