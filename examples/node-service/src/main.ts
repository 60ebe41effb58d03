import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ServiceRegistry } from '@service-registry/core';
import { closeOnSignals, lookupIpv4 } from '@service-registry/core/node';
import { redisStore } from '@service-registry/store-redis';
import { readConfig } from './config.js';

// A small HTTP service that registers itself on Redis, serves its resources, answers GET /registry
// with find(), and deregisters on SIGTERM/SIGINT before it exits.
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
  if (request.method === 'GET' && path === '/health') {
    const health = registry.health();
    return send(response, health.ok ? 200 : 503, health);
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
    console.log(`${config.serviceName}:${config.instanceId} deregistered and stopped`);
  },
});
console.log(
  `${config.serviceName}:${config.instanceId} listening on ${config.publicUrl}, registered in ${config.namespace}`,
);
