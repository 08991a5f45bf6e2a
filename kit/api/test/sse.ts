// Server-sent events read from a response body one at a time, each within a deadline; comments
// (keep-alives) are skipped. For the tests of the event-iterator procedures.

export interface ServerSentEvent {
  event: string;
  data: unknown;
}

export function readServerSentEvents(body: ReadableStream<Uint8Array>, defaultTimeoutMs = 5_000) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  // A read outlives a timed-out wait: the next call takes it up instead of losing its chunk.
  let pending: ReturnType<typeof reader.read> | undefined;
  return {
    /** The next event, or "end" when the server closed the stream. */
    async next(timeoutMs = defaultTimeoutMs): Promise<ServerSentEvent | "end"> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const boundary = buffer.indexOf("\n\n");
        if (boundary >= 0) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const fields = block.split("\n").filter((line) => !line.startsWith(":"));
          if (fields.length === 0) continue;
          const event =
            fields
              .find((l) => l.startsWith("event:"))
              ?.slice(6)
              .trim() ?? "message";
          const data = fields
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart())
            .join("\n");
          return { event, data: data ? JSON.parse(data) : undefined };
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no server-sent event within ${timeoutMs} ms`);
        pending ??= reader.read();
        let timer: Timer | undefined;
        const result = await Promise.race([
          pending,
          new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), left);
          }),
        ]);
        clearTimeout(timer);
        if (result === "timeout") continue;
        pending = undefined;
        if (result.done) return "end";
        buffer += decoder.decode(result.value, { stream: true });
      }
    },
    /** The next event; the stream ending first is an error. */
    async event(timeoutMs = defaultTimeoutMs): Promise<ServerSentEvent> {
      const next = await this.next(timeoutMs);
      if (next === "end") throw new Error("the stream ended");
      return next;
    },
    /** The next `message` event's data. */
    async message<T = unknown>(timeoutMs = defaultTimeoutMs): Promise<T> {
      const next = await this.next(timeoutMs);
      if (next === "end" || next.event !== "message") {
        throw new Error(`expected a message, got ${JSON.stringify(next)}`);
      }
      return next.data as T;
    },
    async close(): Promise<void> {
      await reader.cancel().catch(() => {});
    },
  };
}
