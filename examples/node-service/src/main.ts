import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ServiceRegistry } from '@service-registry/core';
import { closeOnSignals, lookupIpv4 } from '@service-registry/core/node';
import { redisStore } from '@service-registry/store-redis';
import { readConfig } from './config.js';

// A small HTTP service that registers itself on Redis, serves its resources, answers GET /registry
// with find(), and deregisters on SIGTERM/SIGINT before it exits. Its logs say only what happened:
// "registered" once a record reached Redis, and whether deregistering worked. Probes: /livez (and
// /health) answer 200 while the process runs, so a Redis outage never restarts the fleet; /readyz
// answers 200 only while this instance is registered and its last write reached Redis.
const config = readConfig();
const store = redisStore({ url: config.redisUrl });
const registry = new ServiceRegistry({
  store,
  secret: config.secret,
  publicUrl: config.publicUrl,
  baseUrl: config.baseUrl,
  namespace: config.namespace,
  ttl: config.ttl,
  interval: config.interval,
  logger: {
    debug: () => {},
    info: (message, fields) => console.log(message, fields ?? ''),
    warn: (message, fields) => console.warn(message, fields ?? ''),
    error: (message, fields) => console.error(message, fields ?? ''),
  },
});

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method === 'GET' && path === '/registry') {
    try {
      return send(response, 200, await registry.find());
    } catch (error) {
      return send(response, 503, { error: (error as Error).message });
    }
  }
  // Liveness: the process is up and serving. Never depends on Redis.
  if (request.method === 'GET' && (path === '/livez' || path === '/health')) {
    return send(response, 200, { live: true, registry: registry.health() });
  }
  // Readiness: registered, and the last write reached the store.
  if (request.method === 'GET' && path === '/readyz') {
    const health = registry.health();
    const ready = health.registered && health.ok;
    return send(response, ready ? 200 : 503, { ready, ...health });
  }
  const resource = path.startsWith(`${config.baseUrl}/`) ? path.slice(config.baseUrl.length + 1) : undefined;
  if (request.method === 'GET' && resource !== undefined && config.resources.includes(resource)) {
    return send(response, 200, { resource, servedBy: `${config.serviceName}:${config.instanceId}` });
  }
  send(response, 404, { error: `no route for ${request.method} ${path}` });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => send(response, 500, { error: String(error) }));
});
await new Promise<void>((resolve) => server.listen(config.port, '127.0.0.1', resolve));

const name = `${config.serviceName}:${config.instanceId}`;
let deregistered = false;
registry.on('deregistered', () => {
  deregistered = true;
});
// register() resolves even when Redis is down (the loop keeps trying): say so, and say when it worked.
registry.on('recovered', ({ failures }) => {
  console.log(
    `${name} registered in ${config.namespace} after ${failures} failed writes: Redis answers again`,
  );
});
await registry.register(config.resources, {
  serviceName: config.serviceName,
  instanceId: config.instanceId,
  port: config.port,
  ipv4: await lookupIpv4(config.instanceId),
  meta: { pid: String(process.pid) },
});
closeOnSignals(registry, {
  beforeExit: async () => {
    server.close();
    await store.close();
    console.log(
      deregistered
        ? `${name} deregistered and stopped`
        : `${name} stopped, but deregistering failed: its record expires within ${config.ttl} s`,
    );
  },
});
const health = registry.health();
console.log(`${name} listening on ${config.publicUrl}`);
if (health.ok) console.log(`${name} registered in ${config.namespace}`);
else {
  console.warn(
    `${name} NOT registered yet (${health.lastError?.message ?? 'no write yet'}); retrying, /readyz answers 503 until it is`,
  );
}
