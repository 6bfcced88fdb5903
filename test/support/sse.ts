import { expect } from 'vitest';
import { spec, schemaErrors, type SchemaName } from './contract.js';

export interface SseFrame {
  event: string;
  id: string | undefined;
  data: unknown;
  /** When the frame arrived, performance.now(). */
  at: number;
}

export interface SseReading {
  frames: SseFrame[];
  comments: string[];
}

/**
 * Reads a text/event-stream body as it arrives, calling `onFrame` for each frame; stops at the end
 * of the body (or when `onFrame` returns true).
 */
export async function readSse(response: Response, onFrame?: (frame: SseFrame) => boolean | void): Promise<SseReading> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: SseFrame[] = [];
  const comments: string[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('id: ')) id = line.slice(4);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      const frame = { event, id, data: JSON.parse(data.join('\n')) as unknown, at: performance.now() };
      frames.push(frame);
      if (onFrame?.(frame) === true) {
        await reader.cancel();
        return { frames, comments };
      }
    }
  }
  return { frames, comments };
}

/** The frames an SSE operation may send, from its `x-sse-events` extension in the spec. */
export function sseFrameSchemas(operationId: string): Record<string, SchemaName[]> {
  const response = spec.operations.get(operationId)?.operation.responses?.['200'];
  const media = response && 'content' in response ? (response.content?.['text/event-stream'] as { 'x-sse-events'?: Record<string, SchemaName[]> } | undefined) : undefined;
  if (!media?.['x-sse-events']) throw new Error(`${operationId} has no x-sse-events`);
  return media['x-sse-events'];
}

/** Every frame must match one of the schemas the spec lists for its event name. */
export function expectFramesMatchSpec(operationId: string, frames: readonly SseFrame[]): void {
  const allowed = sseFrameSchemas(operationId);
  for (const frame of frames) {
    const names = allowed[frame.event];
    expect(names, `event ${frame.event} of ${operationId}`).toBeDefined();
    const matches = names!.filter((name) => schemaErrors(name, frame.data).length === 0);
    expect(matches, `${frame.event} frame ${JSON.stringify(frame.data)} matches one of ${names!.join(', ')}`).toHaveLength(1);
  }
}
