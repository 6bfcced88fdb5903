import type { TaskEventRepository, TaskEventWithType } from '../db/task-events.js';
import { TERMINAL_STATES } from '../db/tasks.js';
import type { SchemaTaskEventFrame } from '../generated/api.js';
import type { EventStream } from '../http/event-stream.js';
import { aborted, type ChangeFeed } from './follow.js';

const FOREVER_MS = 2_147_483_647;

function toFrame(row: TaskEventWithType): SchemaTaskEventFrame {
  return { task_id: row.task_id, type: row.type, status: row.status, progress: row.progress, data: row.data, created_at: row.created_at.toISOString() };
}

/**
 * A task's status changes as server-sent events, read from the durable task_events table after
 * `afterId` and woken by NOTIFY when a worker (in any process) records a new one. Ends after the
 * terminal event; on server shutdown sends `event: end` so the client reconnects elsewhere.
 */
export function taskEventStream(taskId: string, afterId: string, events: TaskEventRepository, feed: ChangeFeed): EventStream {
  return async (writer) => {
    const { wakeup, unfollow } = feed.follow(taskId);
    const stop = Promise.race([aborted(writer.signal), aborted(writer.shutdown)]);
    let last = afterId;
    try {
      for (;;) {
        const rows = await events.after(taskId, last);
        for (const row of rows) {
          await writer.send({ id: row.id, event: 'status', data: toFrame(row) });
          last = row.id;
          if (TERMINAL_STATES.includes(row.status)) return;
        }
        if (rows.length > 0) continue;
        if (writer.signal.aborted) return;
        if (writer.shutdown.aborted) {
          await writer.send({ event: 'end', data: { reason: 'shutting_down' } });
          return;
        }
        await Promise.race([wakeup.wait(FOREVER_MS), stop]);
      }
    } finally {
      unfollow();
    }
  };
}

/** The resume position a client sent (Last-Event-ID header or query), if it is one of ours. */
export function resumeId(header: string | string[] | undefined, query: string | undefined): string | undefined {
  const value = (Array.isArray(header) ? header[0] : header) ?? query;
  return value !== undefined && /^\d{1,19}$/.test(value) ? value : undefined;
}
