import { Command, type Pipeline, type Redis } from 'ioredis';
import type { CommandPolicy, ParsedCommand } from './commands.js';
import { isReplyError } from './encoding.js';

/** What one command produced: a raw RESP2 reply, or the error Redis (or the policy) answered. */
export type CommandOutcome = { result: unknown } | { error: string };

/** A transaction either ran (one outcome per command) or was discarded as a whole. */
export type TransactionOutcome = { results: CommandOutcome[] } | { error: string };

/** Raised when Redis could not be reached at all; the server answers HTTP 500. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

export interface Executor {
  single(command: ParsedCommand): Promise<CommandOutcome>;
  pipeline(commands: ParsedCommand[]): Promise<CommandOutcome[]>;
  transaction(commands: ParsedCommand[]): Promise<TransactionOutcome>;
}

/**
 * A command whose reply reaches us exactly as Redis sent it. ioredis reshapes some replies by
 * command name (HGETALL into an object, ZRANGE score pairs); the REST API returns Redis's own
 * flat shapes. No reply encoding means bulk strings stay Buffers, so values keep their bytes.
 */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

/** Runs parsed commands on a RESP2 ioredis connection. */
export function createExecutor(
  connection: Redis,
  policy: CommandPolicy,
  onExecuted: (command: ParsedCommand) => void,
): Executor {
  return {
    async single(command) {
      const refusal = policy.refusal(command);
      if (refusal) return { error: refusal };
      onExecuted(command);
      const raw = rawCommand(connection, command);
      connection.sendCommand(raw);
      try {
        return { result: await raw.promise };
      } catch (error) {
        return toOutcome(error);
      }
    },

    async pipeline(commands) {
      const refusals = commands.map((command) => policy.refusal(command));
      const allowed = commands.filter((_, index) => refusals[index] === undefined);
      const replies =
        allowed.length > 0 ? await execBatch(connection, connection.pipeline(), allowed, onExecuted) : [];
      let next = 0;
      return refusals.map((refusal) => (refusal ? { error: refusal } : (replies[next++] ?? missing())));
    },

    async transaction(commands) {
      // Upstash discards the whole transaction when one command is unsupported, before running any.
      for (const command of commands) {
        const refusal = policy.refusal(command);
        if (refusal) return { error: refusal };
      }
      try {
        return { results: await execBatch(connection, connection.multi(), commands, onExecuted) };
      } catch (error) {
        if (error instanceof RedisUnavailableError) throw error;
        if (!isReplyError(error)) throw unavailable(error);
        // EXECABORT (a command failed to queue): report Redis's reasons, as the REST API does.
        const previous = (error as { previousErrors?: Error[] }).previousErrors ?? [];
        const reasons = previous.map((cause) => cause.message).join('; ');
        return { error: reasons ? `${error.message} ${reasons}` : error.message };
      }
    },
  };
}

async function execBatch(
  connection: Redis,
  batch: ReturnType<Redis['pipeline']>,
  commands: ParsedCommand[],
  onExecuted: (command: ParsedCommand) => void,
): Promise<CommandOutcome[]> {
  // `pipeline()` and `multi()` are typed as a command chain, but the object is a Pipeline.
  const pipeline = batch as unknown as Pipeline;
  for (const command of commands) {
    onExecuted(command);
    pipeline.sendCommand(rawCommand(connection, command));
  }
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await batch.exec();
  } catch (error) {
    if (isReplyError(error)) throw error;
    throw unavailable(error);
  }
  // A null EXEC reply means a WATCHed key changed; WATCH is refused, so this is defensive.
  if (!replies) throw new RedisUnavailableError('ERR Redis returned no reply for the batch');
  return replies.map(([error, result]) => (error ? toOutcome(error) : { result }));
}

function rawCommand(connection: Redis, command: ParsedCommand): RawCommand {
  // Key prefixing follows the connection's own option, as ioredis's command methods do.
  return new RawCommand(command.name, command.args, { keyPrefix: connection.options.keyPrefix });
}

function toOutcome(error: unknown): CommandOutcome {
  if (isReplyError(error)) return { error: error.message };
  throw unavailable(error);
}

function unavailable(error: unknown): RedisUnavailableError {
  const message = error instanceof Error ? error.message : String(error);
  return new RedisUnavailableError(`ERR Redis is unavailable: ${message}`, { cause: error });
}

function missing(): never {
  throw new RedisUnavailableError('ERR Redis returned fewer replies than commands');
}
