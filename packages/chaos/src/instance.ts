// One registered instance of the chaos run, as its own OS process. Config comes from the environment
// (see `instanceEnv` in children.ts); everything it has to say goes to stdout as JSON lines (`InstanceLine`)
// for the orchestrator to count. It exits non-zero on an uncaught exception or an unhandled rejection,
// and on its own when the orchestrator dies (stdin closes), so no instance outlives a run.
import { writeSync } from 'node:fs';
import { ServiceRegistry } from '@service-registry/core';
import { openStore } from './open-store.js';
import type { InstanceLine } from './protocol.js';
import { CRASH_EXIT_CODES, readInstanceEnv } from './protocol.js';

// Synchronous, so the line is out before process.exit() even when stdout is a pipe.
const report = (line: InstanceLine): void => {
  writeSync(1, `${JSON.stringify(line)}\n`);
};

const crash = (kind: 'uncaughtException' | 'unhandledRejection', error: unknown): never => {
  report({
    type: 'crash',
    at: Date.now(),
    kind,
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack?.split('\n').slice(0, 8).join('\n') : undefined,
  });
  process.exit(CRASH_EXIT_CODES[kind]);
};
process.on('uncaughtException', (error) => crash('uncaughtException', error));
process.on('unhandledRejection', (reason) => crash('unhandledRejection', reason));

const config = readInstanceEnv(process.env);
const { store } = openStore(config.redisUrl);
const registry = new ServiceRegistry({
  store,
  secret: config.secret,
  publicUrl: `http://${config.serviceName}.chaos.invalid`,
  namespace: config.namespace,
  ttl: config.ttlSeconds,
  interval: config.intervalSeconds,
  logger: {
    debug: () => {},
    info: () => {},
    // Refresh failures arrive as events below; a warn line would only repeat them.
    warn: () => {},
    error: (message) => report({ type: 'log-error', at: Date.now(), message }),
  },
});
registry.on('refresh-failed', ({ error, consecutiveFailures }) =>
  report({ type: 'refresh-failed', at: Date.now(), code: error.code, consecutiveFailures }),
);
registry.on('recovered', ({ failures, downtimeMs }) =>
  report({ type: 'recovered', at: Date.now(), failures, downtimeMs }),
);
registry.on('deregistered', () => report({ type: 'deregistered', at: Date.now() }));

let shuttingDown = false;
const shutDown = async (reason: 'SIGTERM' | 'orphaned'): Promise<void> => {
  if (shuttingDown) return;
  shuttingDown = true;
  // Bounded: a store that does not answer must not keep the process alive past the orchestrator's patience.
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3000).unref());
  const outcome = await Promise.race([registry.close().then(() => store.close()), timeout]);
  report({ type: 'closed', at: Date.now(), reason, timedOut: outcome === 'timeout' });
  process.exit(0);
};
process.on('SIGTERM', () => void shutDown('SIGTERM'));
// The orchestrator holds our stdin open; EOF means it is gone (even if it was SIGKILLed).
process.stdin.on('end', () => void shutDown('orphaned'));
process.stdin.resume();

await registry.register([config.serviceName, `${config.serviceName}-${config.instanceId}`], {
  serviceName: config.serviceName,
  instanceId: config.instanceId,
  port: config.port,
  ipv4: '127.0.0.1',
  meta: { pid: String(process.pid) },
});
report({ type: 'ready', at: Date.now(), ok: registry.health().ok });
