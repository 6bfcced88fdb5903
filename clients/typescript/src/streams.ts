/**
 * Typed async iterators over the API's server-sent event streams. Task and live streams resume
 * after a dropped connection (or the server's `event: end`) by reconnecting with Last-Event-ID,
 * which the server answers with exactly the events after that id.
 */
import type { PorticoClient } from './client.js';
import { PorticoError, PorticoStreamError } from './errors.js';
import { type ChatFrame, isChatFrame, isEvent, isTaskEventFrame, isUnknownChatFrame, parseData } from './frames.js';
import type { components } from './generated/api.js';
import { backoffMs, retryAfterMs, sleep } from './retry.js';
import { readEventStream } from './sse.js';
import { isTerminal, type TaskKind } from './tasks.js';

type Schemas = components['schemas'];
export type { ChatFrame };
export type ChatRequest = Schemas['ChatRequest'];

export interface TaskEvent {
  /** The event's id: pass it as `lastEventId` to resume after it. */
  id: string;
  event: 'status';
  data: Schemas['TaskEventFrame'];
}

export interface LiveEvent {
  /** A resume position: pass it as `lastEventId` to continue after this event. */
  id: string;
  event: 'event';
  data: Schemas['Event'];
}

export interface StreamOptions {
  /** Stops the stream: the iterator rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ResumableStreamOptions extends StreamOptions {
  /** Start after this event (from an earlier stream), instead of at the beginning. */
  lastEventId?: string;
  /** Wait before reconnecting, in ms, unless the server's `retry:` says otherwise (default 1000). */
  retryDelayMs?: number;
  /** Consecutive failed reconnects (network errors, 429, 502-504) before giving up (default 5). */
  maxRetries?: number;
  /**
   * Called each time the stream is open (and after each reconnect): the server has attached it, so
   * whatever is committed from then on arrives on it. A UI shows "live" from here, not before.
   */
  onOpen?: () => void;
}

const SSE_HEADERS = { Accept: 'text/event-stream' };
/** Answers after which reconnecting may work: rate limits, restarts and proxies in between. */
const TRANSIENT = new Set([429, 502, 503, 504]);
const MAX_RECONNECT_DELAY_MS = 30_000;

type Opened = { data: ReadableStream<Uint8Array> | null; error?: undefined; response: Response } | { data?: undefined; error: unknown; response: Response };

function bodyOf(opened: Opened): ReadableStream<Uint8Array> {
  if (opened.error !== undefined || !opened.response.ok) throw new PorticoError(opened.error, opened.response);
  if (!opened.data) throw new PorticoStreamError('The stream answered without a body.');
  return opened.data;
}

/**
 * The messages of a resumable stream across reconnects: `open` is called with the last id seen.
 * A connection that ends, breaks, or sends `event: end` (the server is closing; not yielded) is
 * reopened after the retry delay. Opening is retried with backoff on network errors and transient
 * answers, at most `maxRetries` times in a row; other answers reject with a PorticoError.
 */
async function* resumable(
  open: (lastEventId: string | undefined, signal: AbortSignal | undefined) => Promise<Opened>,
  options: ResumableStreamOptions,
): AsyncGenerator<{ id: string; event: string; data: string }, never, undefined> {
  const { signal } = options;
  const maxRetries = options.maxRetries ?? 5;
  let retryMs = options.retryDelayMs ?? 1000;
  let lastEventId = options.lastEventId;
  let failures = 0;
  for (;;) {
    let body: ReadableStream<Uint8Array>;
    try {
      const opened = await open(lastEventId, signal);
      body = bodyOf(opened);
      options.onOpen?.();
    } catch (error) {
      signal?.throwIfAborted();
      const transient = error instanceof PorticoError ? TRANSIENT.has(error.status) : error instanceof TypeError;
      if (!transient || failures >= maxRetries) throw error;
      const hinted = error instanceof PorticoError ? retryAfterMs(error.response.headers.get('retry-after')) : undefined;
      await sleep(hinted ?? backoffMs(failures, retryMs, MAX_RECONNECT_DELAY_MS), signal);
      failures++;
      continue;
    }
    failures = 0;
    try {
      for await (const message of readEventStream(body, { signal, onRetry: (ms) => (retryMs = ms) })) {
        if (message.id !== undefined) lastEventId = message.id;
        if (message.event === 'end') break;
        yield { id: lastEventId ?? '', event: message.event ?? 'message', data: message.data };
      }
    } catch (error) {
      // A connection that breaks mid-stream (fetch reports a TypeError) is resumed like one that ends.
      signal?.throwIfAborted();
      if (!(error instanceof TypeError)) throw error;
    }
    await sleep(retryMs, signal);
  }
}

/** Streams a chat answer: token frames as the model writes, then one done or error frame. */
export async function* streamChat(client: PorticoClient, body: ChatRequest, options: StreamOptions = {}): AsyncGenerator<ChatFrame, void, undefined> {
  const { signal } = options;
  const opened = await client.POST('/chat/stream', { body, parseAs: 'stream', headers: SSE_HEADERS, signal });
  for await (const message of readEventStream(bodyOf(opened), { signal })) {
    if (message.event !== undefined && message.event !== 'message') continue;
    const frame = parseData(message.data);
    if (isUnknownChatFrame(frame)) continue;
    if (!isChatFrame(frame)) throw new PorticoStreamError(`Not a chat frame: ${message.data.slice(0, 200)}`);
    yield frame;
    if (frame.type !== 'token') return;
  }
  throw new PorticoStreamError('The chat stream ended before its done or error frame.');
}

function openTaskStream(client: PorticoClient, kind: TaskKind, taskId: string, lastEventId: string | undefined, signal: AbortSignal | undefined): Promise<Opened> {
  const init = {
    params: { path: { task_id: taskId }, header: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId } },
    parseAs: 'stream' as const,
    headers: SSE_HEADERS,
    signal,
  };
  return kind === 'inference' ? client.GET('/inference/{task_id}/events', init) : client.GET('/train/{task_id}/events', init);
}

/**
 * A task's status changes, from the start (or after `lastEventId`) until SUCCESS, FAILURE or
 * REVOKED, reconnecting as needed without gaps or repeats.
 */
export async function* taskEvents(client: PorticoClient, kind: TaskKind, taskId: string, options: ResumableStreamOptions = {}): AsyncGenerator<TaskEvent, void, undefined> {
  const messages = resumable((lastEventId, signal) => openTaskStream(client, kind, taskId, lastEventId, signal), options);
  for await (const { id, event, data } of messages) {
    if (event !== 'status') continue;
    const frame = parseData(data);
    if (!isTaskEventFrame(frame)) throw new PorticoStreamError(`Not a task event: ${data.slice(0, 200)}`);
    yield { id, event, data: frame };
    if (isTerminal(frame.status)) return;
  }
}

export interface LiveEventsOptions extends ResumableStreamOptions {
  /** Only events of this type. */
  eventType?: string;
}

/** Events as they are committed, from now (or after `lastEventId`) until aborted. */
export async function* liveEvents(client: PorticoClient, options: LiveEventsOptions = {}): AsyncGenerator<LiveEvent, void, undefined> {
  const query = options.eventType === undefined ? {} : { event_type: options.eventType };
  const messages = resumable(
    (lastEventId, signal) =>
      client.GET('/events/stream', {
        params: { query, header: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId } },
        parseAs: 'stream',
        headers: SSE_HEADERS,
        signal,
      }),
    options,
  );
  for await (const { id, event, data } of messages) {
    if (event !== 'event') continue;
    const frame = parseData(data);
    if (!isEvent(frame)) throw new PorticoStreamError(`Not an event: ${data.slice(0, 200)}`);
    yield { id, event, data: frame };
  }
}
