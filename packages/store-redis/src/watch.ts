import type { RedisClientLike, RedisSubscriberLike } from './client.js';

type Listener = (service: string) => void;

interface Subscription {
  readonly listeners: Set<Listener>;
  readonly subscribed: Promise<unknown>;
}

/**
 * Change notices for the store: one subscriber connection (a `duplicate()`), one SUBSCRIBE per channel
 * (a namespace's, or one service's) however many watchers share it.
 */
export interface WatchHub {
  watch(
    channels: readonly string[],
    onChange: Listener,
    onInterruption?: (resumed: boolean) => void,
  ): Promise<() => Promise<void>>;
  close(): void;
}

export function createWatchHub(client: RedisClientLike): WatchHub {
  let subscriber: RedisSubscriberLike | undefined;
  const subscriptions = new Map<string, Subscription>();
  const interruptionListeners = new Set<(resumed: boolean) => void>();
  let interrupted = false;
  const tell = (resumed: boolean): void => {
    if (interrupted === !resumed) return;
    interrupted = !resumed;
    for (const listener of [...interruptionListeners]) {
      try {
        listener(resumed);
      } catch {
        // A reader's failing callback must not break the connection.
      }
    }
  };

  const connect = (): RedisSubscriberLike => {
    if (subscriber) return subscriber;
    const created = client.duplicate();
    // Connection failures are retried by ioredis (with resubscription); missed notices are covered by
    // the core's polling, so there is nobody to tell here.
    created.on('error', () => {});
    // ioredis resubscribes on reconnect; between the two, notices are lost: readers re-read.
    created.on('close', () => tell(false));
    created.on('ready', () => tell(true));
    created.on('message', (channel, message) => {
      for (const listener of subscriptions.get(channel)?.listeners ?? []) {
        try {
          listener(message);
        } catch {
          // One watcher's failing callback must not starve the others or break the connection.
        }
      }
    });
    subscriber = created;
    return created;
  };

  const watchChannel = async (channel: string, onChange: Listener): Promise<() => Promise<void>> => {
    const connection = connect();
    let subscription = subscriptions.get(channel);
    if (!subscription) {
      subscription = { listeners: new Set(), subscribed: connection.subscribe(channel) };
      subscriptions.set(channel, subscription);
    }
    const listener: Listener = (service) => onChange(service);
    subscription.listeners.add(listener);
    try {
      await subscription.subscribed;
    } catch (error) {
      subscription.listeners.delete(listener);
      if (subscriptions.get(channel) === subscription) subscriptions.delete(channel);
      throw error;
    }
    const current = subscription;
    return async () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0 || subscriptions.get(channel) !== current) return;
      subscriptions.delete(channel);
      await subscriber?.unsubscribe(channel);
    };
  };

  return {
    async watch(channels, onChange, onInterruption) {
      const stops: (() => Promise<void>)[] = [];
      if (onInterruption) {
        interruptionListeners.add(onInterruption);
        stops.push(async () => {
          interruptionListeners.delete(onInterruption);
        });
      }
      try {
        for (const channel of channels) stops.push(await watchChannel(channel, onChange));
      } catch (error) {
        await Promise.allSettled(stops.map((stop) => stop()));
        throw error;
      }
      return async () => {
        await Promise.all(stops.map((stop) => stop()));
      };
    },
    close() {
      subscriptions.clear();
      interruptionListeners.clear();
      subscriber?.disconnect();
      subscriber = undefined;
    },
  };
}
