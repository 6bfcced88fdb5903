/** Building server-sent event bodies for mocks, the way a real server (or a bad network) sends them. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** One SSE frame. Data with newlines becomes several `data:` lines, as the format requires. */
export function frame(fields: { id?: string; event?: string; data: unknown }): string {
  const data = typeof fields.data === 'string' ? fields.data : JSON.stringify(fields.data);
  const lines = [
    ...(fields.id === undefined ? [] : [`id: ${fields.id}`]),
    ...(fields.event === undefined ? [] : [`event: ${fields.event}`]),
    ...data.split('\n').map((line) => `data: ${line}`),
  ];
  return `${lines.join('\n')}\n\n`;
}

/** The frames of an SSE text, as a client sees them. */
export function parseFrames(text: string): EventSourceMessage[] {
  const frames: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => frames.push(message) });
  parser.feed(text);
  return frames;
}

/** The UTF-8 bytes of `text` cut every `size` bytes: chunk boundaries land mid-line and mid-character. */
export function byteChunks(text: string, size: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.slice(start, start + size));
  return chunks;
}

/** What the connection does after the last chunk. */
export type Ending = 'close' | 'error' | 'hang';

/**
 * A response body sending `chunks` one by one (each in its own macrotask, as packets arrive),
 * then closing, failing like a dropped connection, or staying open like an idle stream.
 */
export function streamBody(chunks: (string | Uint8Array)[], ending: Ending = 'close'): ReadableStream<Uint8Array> {
  const queue = chunks.map((chunk) => (typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk));
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = queue.shift();
      if (next) controller.enqueue(next);
      else if (ending === 'close') controller.close();
      // The fetch API reports a connection dropped mid-body as a TypeError ("terminated").
      else if (ending === 'error') controller.error(new TypeError('terminated'));
      else await new Promise(() => undefined);
    },
  });
}

export const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };
