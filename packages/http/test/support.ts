/** Reads a server-sent-events stream and waits for events by name. */
export function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: { event: string; id: string | undefined; data: unknown }[] = [];
  let buffer = '';
  let pumping = false;
  const pump = async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const parts = buffer.split('\n\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) {
        const event = /^event: (.+)$/m.exec(part)?.[1];
        const data = /^data: (.+)$/m.exec(part)?.[1];
        if (event !== undefined) {
          events.push({
            event,
            id: /^id: (.+)$/m.exec(part)?.[1],
            data: data === undefined ? undefined : JSON.parse(data),
          });
        }
      }
    }
  };
  return {
    events,
    async waitFor(predicate: (event: { event: string; data: unknown }) => boolean, ms = 15_000) {
      if (!pumping) {
        pumping = true;
        pump().catch(() => {});
      }
      const deadline = Date.now() + ms;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no such event within ${ms} ms; got ${JSON.stringify(events)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    cancel: () => reader.cancel(),
  };
}
