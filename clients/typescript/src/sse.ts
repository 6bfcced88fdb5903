import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * The messages of one `text/event-stream` body, as they arrive. Comments (the server's
 * `: heartbeat`) are dropped; `retry:` fields go to `onRetry`. Aborting `signal` cancels the body
 * (a mocked body would not notice the aborted request) and rejects with the signal's reason;
 * leaving the loop early cancels it too, which closes the connection.
 */
export async function* readEventStream(
  body: ReadableStream<Uint8Array>,
  options: { signal?: AbortSignal | undefined; onRetry?: (ms: number) => void } = {},
): AsyncGenerator<EventSourceMessage, void, undefined> {
  const { signal, onRetry } = options;
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message), ...(onRetry ? { onRetry } : {}) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  // Cancels are never awaited: some bodies (mocks, proxies) only settle them once fully read.
  const cancel = () => void reader.cancel(signal?.reason).catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    signal?.throwIfAborted();
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      yield* pending.splice(0);
    }
    // An event not terminated by a blank line is discarded, as the SSE spec says.
    parser.feed(decoder.decode());
    yield* pending.splice(0);
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
    cancel();
  }
}
