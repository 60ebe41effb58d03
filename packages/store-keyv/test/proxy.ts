import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

/** A TCP forwarder to `host:port` that can be stopped (connections refused) and started again on its port. */
export interface StoppableProxy {
  readonly port: number;
  /** Closes the listener and cuts every open connection: clients then get ECONNREFUSED. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startProxy(host: string, port: number): Promise<StoppableProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let ownPort = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const created = createServer((client) => {
        const upstream = createConnection(port, host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      created.once('error', reject);
      created.listen(ownPort, '127.0.0.1', () => {
        ownPort = (created.address() as AddressInfo).port;
        server = created;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return ownPort;
    },
    async stop() {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
    },
    start: listen,
  };
}
