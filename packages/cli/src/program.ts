import { Command, CommanderError, Option } from 'commander';
import { inspectCommand } from './commands/inspect.js';
import { listCommand, rejectedCommand, urlMapCommand } from './commands/listing.js';
import { deregisterCommand, purgeCommand } from './commands/remove.js';
import { watchCommand } from './commands/watch.js';
import { type Connection, type ConnectionFlags, connect } from './connect.js';
import { DashboardCommand } from './dashboard-command.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit.js';
import type { Io } from './output.js';

/** What `run` needs besides the arguments: streams, environment, and how a long command is stopped. */
export interface RunContext extends Io {
  /** Settles when a long-running command (`watch`, `dashboard`) should stop: SIGINT/SIGTERM in the bin. */
  readonly stopSignal: Promise<unknown>;
}

const CONNECTION_HELP = `
Connection (flags, else the environment):
  --redis URL       redis://, rediss://, redis+sentinel://h1:26379,h2:26379/mymaster, redis+cluster://h1:7000,h2:7001
                    (REDIS_URL)
  --upstash URL     Upstash REST URL (UPSTASH_REDIS_REST_URL), token in UPSTASH_REDIS_REST_TOKEN
  --memory          an in-process memory store with a small demo fleet (for trying things out)
  secret            REGISTRY_SECRET or --secret-file (one secret per line; the first encrypts). Never echoed.
  namespace         --namespace or REGISTRY_NAMESPACE (default reg)
${EXIT_CODES_HELP}`;

function example(text: string): string {
  return `\nExample:\n  ${text}\n`;
}

/**
 * Runs `service-registry` with `argv` (without node and the script) and resolves with the exit code.
 * Never calls `process.exit`: the bin does, so tests can run it in-process too.
 */
export async function run(argv: readonly string[], context: RunContext): Promise<number> {
  let exitCode: number = EXIT.ok;
  let connection: Connection | undefined;
  const program = new Command('service-registry')
    .description('Look at and manage a service registry: instances, url map, records, a live dashboard.')
    .version('0.1.0')
    .configureOutput({ writeOut: (text) => context.out(text), writeErr: (text) => context.err(text) })
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', CONNECTION_HELP)
    .option('--redis <url>', 'Redis, Sentinel or Cluster URL')
    .option('--upstash <url>', 'Upstash REST URL')
    .addOption(
      new Option(
        '--upstash-token <token>',
        'Upstash REST token (prefer UPSTASH_REDIS_REST_TOKEN)',
      ).hideHelp(),
    )
    .option('--memory', 'in-process memory store with a demo fleet')
    .option(
      '--demo',
      'with --memory: the demo fleet changes every few seconds (statuses, a canary that crashes)',
    )
    .option('--secret-file <path>', 'file holding the secret(s), one per line')
    .option('--namespace <name>', 'registry namespace (default: REGISTRY_NAMESPACE or reg)')
    .addOption(
      new Option('--mode <mode>', 'key layout and codec').choices(['native', 'apicrud']).default('native'),
    );

  const open = async (): Promise<Connection> => {
    connection = await connect(program.opts<ConnectionFlags>(), context.env);
    return connection;
  };
  const action =
    <A extends unknown[]>(body: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      exitCode = await body(...args);
    };

  program
    .command('ls')
    .description('list live instances (all services, or one), with their expiry')
    .argument('[service]', 'only this service')
    .option('--json', 'print JSON')
    .option('--status <list>', 'only these statuses, comma-separated (up,starting,draining,down)')
    .addHelpText('after', example('service-registry --redis redis://127.0.0.1:6379 ls orders --status up'))
    .action(
      action(async (service: string | undefined, flags) =>
        listCommand(await open(), service, flags, context),
      ),
    );

  program
    .command('url-map')
    .description('print which public URL serves each resource, and any conflicts')
    .option('--json', 'print JSON')
    .addHelpText('after', example('service-registry url-map --json'))
    .action(action(async (flags) => urlMapCommand(await open(), flags, context)));

  program
    .command('watch')
    .description('print one line per change (present, added, removed, updated) until interrupted')
    .argument('[service]', 'only this service')
    .option('--json', 'print one JSON object per line')
    .option('--interval <seconds>', 'seconds between polls, which catch expiries', '2')
    .addHelpText('after', example('service-registry watch billing'))
    .action(
      action(async (service: string | undefined, flags) =>
        watchCommand(await open(), service, flags, context, context.stopSignal),
      ),
    );

  program
    .command('inspect')
    .description('show one record: decrypted content, key, ttl left, size, codec and key id')
    .argument('<service>')
    .argument('<id>', 'instance id')
    .option('--json', 'print JSON')
    .addHelpText('after', example('service-registry inspect billing billing-1'))
    .action(
      action(async (service: string, id: string, flags) =>
        inspectCommand(await open(), service, id, flags, context),
      ),
    );

  program
    .command('rejected')
    .description(
      'list records that fail to decrypt or validate, with the reason (a wrong secret, an old format)',
    )
    .option('--json', 'print JSON')
    .addHelpText('after', example('REGISTRY_SECRET=... service-registry rejected'))
    .action(action(async (flags) => rejectedCommand(await open(), flags, context)));

  program
    .command('deregister')
    .description('remove one record now (a live instance writes it again at its next refresh)')
    .argument('<service>')
    .argument('<id>', 'instance id')
    .addHelpText('after', example('service-registry deregister billing billing-2'))
    .action(
      action(async (service: string, id: string) => deregisterCommand(await open(), service, id, context)),
    );

  program
    .command('purge')
    .description('delete every record of the namespace (asks first unless --yes)')
    .option('--yes', 'do not ask')
    .addHelpText('after', example('service-registry --namespace staging purge --yes'))
    .action(action(async (flags) => purgeCommand(await open(), flags, context)));

  new DashboardCommand(program, open, context, (code) => {
    exitCode = code;
  }).register();

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    context.err(`service-registry: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  } finally {
    await connection?.close().catch(() => {});
  }
}
