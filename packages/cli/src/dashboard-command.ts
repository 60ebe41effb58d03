import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { RegistryError } from '@service-registry/core';
import type { Command } from 'commander';
import type { Connection } from './connect.js';
import { EXIT } from './exit.js';
import type { RunContext } from './program.js';

interface DashboardFlags {
  port: string;
  host: string;
  tokenFile?: string;
  services?: string;
  publicUrlMap?: boolean;
}

async function readToken(flags: DashboardFlags, env: Record<string, string | undefined>): Promise<string> {
  if (flags.tokenFile !== undefined) {
    try {
      return (await readFile(flags.tokenFile, 'utf8')).trim();
    } catch (error) {
      throw new RegistryError('invalid-argument', `cannot read --token-file ${flags.tokenFile}`, {
        cause: error,
      });
    }
  }
  // A fresh random token per run unless one is given: the URL printed below carries it.
  return env.REGISTRY_HTTP_TOKEN || randomBytes(24).toString('base64url');
}

/** `dashboard`: serves the discovery endpoint and its dashboard page, and prints the page's URL. */
export class DashboardCommand {
  readonly #program: Command;
  readonly #open: () => Promise<Connection>;
  readonly #context: RunContext;
  readonly #setExit: (code: number) => void;

  constructor(
    program: Command,
    open: () => Promise<Connection>,
    context: RunContext,
    setExit: (code: number) => void,
  ) {
    this.#program = program;
    this.#open = open;
    this.#context = context;
    this.#setExit = setExit;
  }

  register(): void {
    this.#program
      .command('dashboard')
      .description('serve the live dashboard (and the HTTP discovery API) and print its URL')
      .option('--port <port>', 'port to listen on (0: a free one)', '8790')
      .option('--host <address>', 'address to listen on', '127.0.0.1')
      .option(
        '--token-file <path>',
        'bearer token for the API (default REGISTRY_HTTP_TOKEN, else a random one)',
      )
      .option('--services <list>', 'only these services, comma-separated')
      .option('--public-url-map', 'serve /v1/url-map without the token')
      .addHelpText(
        'after',
        '\nExample:\n  service-registry --redis redis://127.0.0.1:6379 dashboard --port 8790\n  service-registry --memory dashboard   (a demo fleet in this process)\n',
      )
      .action(async (flags: DashboardFlags) => {
        this.#setExit(await this.#run(flags));
      });
  }

  async #run(flags: DashboardFlags): Promise<number> {
    const port = Number(flags.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RegistryError('invalid-argument', `--port must be 0 to 65535, got ${flags.port}`);
    }
    const token = await readToken(flags, this.#context.env);
    // Loaded here: the other commands start faster without the view and the HTTP handler.
    const [{ createDiscovery }, { createDiscoveryHandler }, { serve }] = await Promise.all([
      import('@service-registry/core'),
      import('@service-registry/http'),
      import('@service-registry/http/node'),
    ]);
    const connection = await this.#open();
    const services = flags.services
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const view = createDiscovery({
      store: connection.store,
      secret: [...connection.secrets],
      namespace: connection.namespace,
      mode: connection.mode,
      ...(services && services.length > 0 ? { services } : {}),
    });
    try {
      const handler = createDiscoveryHandler({
        view,
        token,
        publicUrlMap: flags.publicUrlMap === true,
        title: `service registry: ${connection.namespace}`,
      });
      const server = await serve(handler, { port, host: flags.host });
      try {
        this.#context.out(`dashboard: ${server.url}/#token=${encodeURIComponent(token)}\n`);
        this.#context.err(`API: ${server.url}/v1/services (Authorization: Bearer <the token in the URL>)\n`);
        await this.#context.stopSignal;
      } finally {
        await server.close();
      }
    } finally {
      await view.close();
    }
    return EXIT.ok;
  }
}
