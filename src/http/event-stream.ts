import type { Response } from 'express';
import { type EventStream, type EventStreamWriter, formatFrame } from '../streams/event-stream.js';

export interface EventStreamOptions {
  heartbeatMs: number;
  signal: AbortSignal;
  shutdown: AbortSignal;
}

/**
 * One timer per heartbeat period for every open stream, instead of a timer each: 10,000 idle
 * streams then cost one wake-up per period, not 10,000 Timeout objects firing on their own.
 */
const heartbeats = new Map<number, { timer: NodeJS.Timeout; beats: Set<() => void> }>();

function onHeartbeat(periodMs: number, beat: () => void): () => void {
  let entry = heartbeats.get(periodMs);
  if (!entry) {
    const beats = new Set<() => void>();
    const timer = setInterval(() => {
      for (const each of beats) each();
    }, periodMs);
    timer.unref();
    entry = { timer, beats };
    heartbeats.set(periodMs, entry);
  }
  const { beats, timer } = entry;
  beats.add(beat);
  return () => {
    beats.delete(beat);
    if (beats.size > 0) return;
    clearInterval(timer);
    heartbeats.delete(periodMs);
  };
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
  const stopHeartbeat = onHeartbeat(Math.max(50, Math.floor(options.heartbeatMs / 3)), () => {
    if (Date.now() - lastWrite >= options.heartbeatMs) write(': heartbeat\n\n');
  });

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
    stopHeartbeat();
    if (!res.writableEnded) res.end();
  }
}
