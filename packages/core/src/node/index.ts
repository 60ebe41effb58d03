import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import type { ServiceRegistry } from '../registry.js';

/** The default instance id: the host name, as apicrud uses it (a container's id in most orchestrators). */
export function defaultInstanceId(): string {
  return hostname();
}

/**
 * The instance's IPv4 address: the seed resolves the instance id (its host name); when that fails,
 * the first non-internal IPv4 interface; null when there is none.
 */
export async function lookupIpv4(instanceId: string = defaultInstanceId()): Promise<string | null> {
  try {
    const { address } = await lookup(instanceId, { family: 4 });
    if (!address.startsWith('127.')) return address;
  } catch {
    // Not resolvable: fall through to the interfaces.
  }
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return null;
}

/** Options of `closeOnSignals`. */
export interface CloseOnSignalsOptions {
  /** Signals that trigger a clean shutdown. Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /** Longest wait for deregistration, in ms, before exiting anyway. Default 5000. */
  timeoutMs?: number;
  /** Runs after the registries closed (close servers, flush logs). Default none. */
  beforeExit?: () => Promise<void> | void;
  /** Exit the process afterwards, with code 0, or 1 when closing failed or `timeoutMs` passed first. Default true. */
  exit?: boolean;
}

/**
 * On SIGTERM/SIGINT, closes the registries (deregistering this instance at once instead of waiting for
 * its ttl), then exits. Returns a function that removes the handlers.
 */
export function closeOnSignals(
  registries: ServiceRegistry | readonly ServiceRegistry[],
  options: CloseOnSignalsOptions = {},
): () => void {
  const list = Array.isArray(registries) ? registries : [registries as ServiceRegistry];
  const { signals = ['SIGTERM', 'SIGINT'], timeoutMs = 5000, beforeExit, exit = true } = options;
  let closing = false;
  const handler = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    let code = 0;
    const timedOut = Symbol('timed out');
    const timeout = new Promise<typeof timedOut>((resolve) =>
      setTimeout(resolve, timeoutMs, timedOut).unref(),
    );
    try {
      const outcome = await Promise.race([Promise.all(list.map((registry) => registry.close())), timeout]);
      // A deadline that fired means the records may still be there: say so to the supervisor.
      if (outcome === timedOut) code = 1;
      await beforeExit?.();
    } catch {
      code = 1;
    }
    if (exit) process.exit(code);
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
