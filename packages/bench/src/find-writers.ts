// The find part's writers in a process of their own: the registries whose records the readers find,
// and which rewrite them with routine refreshes between two finds. In a fleet they are other
// processes; in the bench's own process their work would land on the reader (their garbage
// collected, or a full collection's sweeping still running, right as the timed find starts).
// `startFindWriters` forks this file; the reader asks it, one request at a time, to register a range
// of instances or to refresh some, and waits for the answer.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ServiceRegistry } from '@service-registry/core';
import { redisStore } from '@service-registry/store-redis';
import { ENDPOINTS, runBounded, SECRET } from './lib.js';

/** The find part's instance ids: `i-00000`, `i-00001`, ... */
export const instanceId = (index: number): string => `i-${String(index).padStart(5, '0')}`;

export interface FindWritersOptions {
  /** The Redis the reader measures. */
  readonly url: string;
  readonly namespace: string;
  readonly service: string;
  readonly ttlSeconds: number;
}

type Request =
  | { readonly op: 'grow'; readonly from: number; readonly to: number }
  | { readonly op: 'refresh'; readonly first: number; readonly count: number }
  | { readonly op: 'close' };

type Answer = { readonly ok: true } | { readonly ok: false; readonly error: string };

/** The writers' process, seen from the reader. */
export interface FindWriters {
  /** Registers instances [from, to) through real registries (no refresh loop). */
  grow(from: number, to: number): Promise<void>;
  /** One routine refresh (`update()`) of `count` instances from `first` on, wrapping around. */
  refresh(first: number, count: number): Promise<void>;
  /** Deregisters nothing (the records stay for their ttl); closes the registries and exits. */
  close(): Promise<void>;
}

export function startFindWriters(options: FindWritersOptions): FindWriters {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending: { resolve: () => void; reject: (error: Error) => void } | undefined;
  let exited: Error | undefined;
  child.on('message', (message: Answer) => {
    const waiting = pending;
    pending = undefined;
    if (message.ok) waiting?.resolve();
    else waiting?.reject(new Error(`the find writers failed: ${message.error}`));
  });
  child.on('exit', (code) => {
    exited = new Error(`the find writers' process exited with ${code}`);
    pending?.reject(exited);
    pending = undefined;
  });
  const ask = (request: Request) =>
    new Promise<void>((resolve, reject) => {
      if (exited) return reject(exited);
      if (pending) return reject(new Error('the find writers take one request at a time'));
      pending = { resolve, reject };
      child.send(request);
    });
  return {
    grow: (from, to) => ask({ op: 'grow', from, to }),
    refresh: (first, count) => ask({ op: 'refresh', first, count }),
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await ask({ op: 'close' });
      await gone;
    },
  };
}

async function serve(options: FindWritersOptions): Promise<void> {
  const store = redisStore({ url: options.url });
  const writers: ServiceRegistry[] = [];
  const handle = async (request: Request): Promise<void> => {
    if (request.op === 'grow') {
      const { from, to } = request;
      await runBounded(to - from, 100, async (offset) => {
        const index = from + offset;
        const registry = new ServiceRegistry({
          store,
          secret: SECRET,
          publicUrl: `https://${options.service}.example.com`,
          baseUrl: '/api/v1',
          namespace: options.namespace,
          ttl: options.ttlSeconds,
          interval: 60,
        });
        writers[index] = registry;
        // No refresh loop: the record stays for the ttl, longer than the whole bench; the reader asks
        // for routine refreshes through `update()`, as the loop would make them.
        await registry.register(ENDPOINTS, {
          serviceName: options.service,
          instanceId: instanceId(index),
          port: 8080,
          ipv4: `10.2.${index >> 8}.${index & 255}`,
          meta: { region: 'eu-west-1', version: '1.42.0', zone: 'abc'[index % 3] as string },
          refresh: false,
        });
      });
    } else if (request.op === 'refresh') {
      const { first, count } = request;
      const size = writers.length;
      await runBounded(count, 100, (offset) =>
        (writers[(first + offset) % size] as ServiceRegistry).update(),
      );
    } else {
      await Promise.all(writers.map((registry) => registry.close({ deregister: false })));
      await store.close();
    }
  };
  process.on('message', (request: Request) => {
    handle(request).then(
      () => {
        process.send?.({ ok: true } satisfies Answer);
        if (request.op === 'close') process.disconnect();
      },
      (error: unknown) =>
        process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await serve(JSON.parse(process.argv[2] as string) as FindWritersOptions);
}
