import type { Response } from 'express';

/** One server-sent event. `data` is sent as a single line of JSON. */
export interface EventStreamFrame {
  id?: string;
  event?: string;
  data: unknown;
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

export interface EventStreamOptions {
  heartbeatMs: number;
  signal: AbortSignal;
  shutdown: AbortSignal;
}

export function formatFrame(frame: EventStreamFrame): string {
  let text = '';
  if (frame.id !== undefined) text += `id: ${frame.id}\n`;
  if (frame.event !== undefined) text += `event: ${frame.event}\n`;
  return `${text}data: ${JSON.stringify(frame.data)}\n\n`;
}

/**
 * Serves an EventStream as text/event-stream: no caching or proxy buffering, a comment heartbeat
 * while idle so proxies keep the connection, and every frame flushed at once (also through
 * compression, which the app never applies to event streams).
 */
export async function serveEventStream(res: Response, stream: EventStream, options: EventStreamOptions): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Connection', 'keep-alive');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();

  let lastWrite = Date.now();
  const write = (text: string): boolean => {
    lastWrite = Date.now();
    return res.write(text);
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - lastWrite >= options.heartbeatMs) write(': heartbeat\n\n');
  }, Math.max(50, Math.floor(options.heartbeatMs / 3)));
  heartbeat.unref();

  const writer: EventStreamWriter = {
    signal: options.signal,
    shutdown: options.shutdown,
    async send(frame) {
      if (options.signal.aborted || res.writableEnded) return;
      if (!write(formatFrame(frame))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            options.signal.removeEventListener('abort', done);
            resolve();
          };
          res.on('drain', done);
          options.signal.addEventListener('abort', done);
        });
      }
    },
  };
  try {
    await stream(writer);
  } finally {
    clearInterval(heartbeat);
    if (!res.writableEnded) res.end();
  }
}
