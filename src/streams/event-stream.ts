/**
 * What a streaming response is, independent of HTTP: a function that writes frames. The HTTP
 * layer (src/http/event-stream.ts) serves it as text/event-stream.
 */
/** One server-sent event. `data` is sent as a single line of JSON. */
export interface EventStreamFrame {
  id?: string;
  event?: string;
  data: unknown;
  /** `data` is a string sent as it is, not as JSON (OpenAI's `data: [DONE]`, or JSON serialized once for many streams). */
  raw?: boolean;
}

export interface EventStreamWriter {
  /** Writes a frame; resolves once the socket has room for more (backpressure). */
  send(frame: EventStreamFrame): Promise<void>;
  /** Aborted when the client disconnects. */
  readonly signal: AbortSignal;
  /** Aborted when the server begins shutting down: open-ended streams send a last frame and end. */
  readonly shutdown: AbortSignal;
}

/** A streaming response body: writes frames until it returns or `writer.signal` aborts. */
export type EventStream = (writer: EventStreamWriter) => Promise<void>;

export function formatFrame(frame: EventStreamFrame): string {
  let text = '';
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  if (frame.event !== undefined) text += `event: ${frame.event}\n`;
  return `${text}data: ${frame.raw === true && typeof frame.data === 'string' ? frame.data : JSON.stringify(frame.data)}\n\n`;
}

