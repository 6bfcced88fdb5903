import type { TaskEventRepository, TaskEventWithType } from '../db/task-events.js';
import { TERMINAL_STATES } from '../db/tasks.js';
import type { SchemaTaskEventFrame } from '../generated/api.js';
import type { EventStream } from './event-stream.js';
import type { ChangeFeed } from './follow.js';

function toFrame(row: TaskEventWithType): SchemaTaskEventFrame {
  return { task_id: row.task_id, type: row.type, status: row.status, progress: row.progress, data: row.data, created_at: row.created_at.toISOString() };
}

/**
 * A task's status changes as server-sent events, read from the durable task_events table after
 * `afterId` and woken by NOTIFY when a worker (in any process) records a new one. Ends after the
 * terminal event, or, for a task that had `ended` when the stream opened, once nothing is left
 * after `afterId` (a client resuming after the terminal event); on server shutdown sends
 * `event: end` so the client reconnects elsewhere.
 */
export function taskEventStream(taskId: string, afterId: string, ended: boolean, events: TaskEventRepository, feed: ChangeFeed): EventStream {
  return async (writer) => {
    const { wakeup, unfollow } = feed.follow(taskId);
    const unwatch = wakeup.wakeOnAbort(writer.signal, writer.shutdown);
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
        if (ended || writer.signal.aborted) return;
        if (writer.shutdown.aborted) {
          await writer.send({ event: 'end', data: { reason: 'shutting_down' } });
          return;
        }
        await wakeup.wait();
      }
    } finally {
      unwatch();
      unfollow();
    }
  };
}
