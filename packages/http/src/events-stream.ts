import { DISCOVERY_EVENTS, type DiscoveryView } from '@service-registry/core';
import { eventJson } from './bodies.js';

/** The view's events an SSE stream carries (every one), under the same names. */
export const STREAMED_EVENTS = DISCOVERY_EVENTS;

const encoder = new TextEncoder();

/**
 * A server-sent-events stream of the view's events: `event: <name>`, `id: <view version>`, `data: <json>`.
 * It opens with a `ready` event carrying the current version, sends a comment every `heartbeatMs` so
 * proxies keep the connection, and ends when the client goes away (`signal`) or the stream is cancelled.
 */
export function eventStream(view: DiscoveryView, signal: AbortSignal, heartbeatMs: number): ReadableStream {
  const unsubscribers: (() => void)[] = [];
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          stop();
        }
      };
      const sendEvent = (name: string, data: string) =>
        send(`event: ${name}\nid: ${view.version}\ndata: ${data}\n\n`);
      send('retry: 2000\n\n');
      sendEvent('ready', JSON.stringify({ version: view.version }));
      for (const name of STREAMED_EVENTS) {
        unsubscribers.push(view.on(name, (payload: unknown) => sendEvent(name, eventJson(payload))));
      }
      heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs);
      const end = () => {
        stop();
        try {
          controller.close();
        } catch {
          // Already closed by the runtime.
        }
      };
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
    },
    cancel: stop,
  });
}
