import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startFaultProxy } from '../src/fault-proxy.js';

// An echo server stands in for Redis: the proxy only moves bytes, so what matters is order and timing.
let echo: Server;
let echoPort: number;
beforeAll(async () => {
  echo = createServer((socket) => {
    // The proxy resets its upstream side when it drops a connection.
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function receive(socket: Socket, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
      if (received.length >= bytes) resolve(received);
    });
    socket.once('close', () => reject(new Error(`closed after ${received.length} bytes`)));
  });
}

test('delayed chunks keep their order and are counted', async () => {
  const proxy = await startFaultProxy(echoPort);
  try {
    proxy.setFaults({ delayShare: 1, delayMaxMs: 50 });
    const socket = await connect(proxy.port);
    const words = Array.from({ length: 20 }, (_, index) => `w${String(index).padStart(2, '0')};`);
    const echoed = receive(socket, words.join('').length);
    for (const word of words) {
      socket.write(word);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(await echoed).toBe(words.join(''));
    expect(proxy.counters.chunksDelayed).toBeGreaterThan(0);
    socket.destroy();
  } finally {
    await proxy.close();
  }
});

test('a slow store holds every reply for at least the minimum, requests not at all', async () => {
  const proxy = await startFaultProxy(echoPort);
  try {
    proxy.setFaults({ replyDelayMinMs: 300, replyDelayMaxMs: 400 });
    const socket = await connect(proxy.port);
    const started = Date.now();
    const echoed = receive(socket, 'ping;'.length);
    socket.write('ping;');
    expect(await echoed).toBe('ping;');
    // One hold (the reply's), not two: generous upper bound for a busy machine.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(proxy.counters.chunksDelayed).toBe(1);
    socket.destroy();
  } finally {
    await proxy.close();
  }
});

test('refusing resets new connections; dropping cuts open ones', async () => {
  const proxy = await startFaultProxy(echoPort);
  try {
    const open = await connect(proxy.port);
    const closed = new Promise((resolve) => open.once('close', resolve));
    open.on('error', () => {});
    proxy.setFaults({ refuseNew: true });
    // Reset at once: the client sees ECONNRESET, at connect or just after.
    const refused = createConnection({ host: '127.0.0.1', port: proxy.port });
    refused.on('error', () => {});
    await new Promise((resolve) => refused.once('close', resolve));
    expect(proxy.dropConnections(1)).toBe(1);
    await closed;
    expect(proxy.counters).toMatchObject({ connectionsRefused: 1, connectionsDropped: 1 });
    proxy.clearFaults();
    const again = await connect(proxy.port);
    const echoed = receive(again, 4);
    again.write('ping');
    expect(await echoed).toBe('ping');
    again.destroy();
  } finally {
    await proxy.close();
  }
});

test('a connection is reset when the upstream refuses it', async () => {
  const unused = createServer();
  await new Promise<void>((resolve) => unused.listen(0, '127.0.0.1', resolve));
  const deadPort = (unused.address() as { port: number }).port;
  await new Promise<void>((resolve) => unused.close(() => resolve()));
  const proxy = await startFaultProxy(deadPort);
  try {
    const socket = await connect(proxy.port);
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    expect(proxy.counters.upstreamFailures).toBe(1);
  } finally {
    await proxy.close();
  }
});
