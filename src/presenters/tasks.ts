import type { TaskRow } from '../db/schema.js';
import type { SchemaTaskStatus } from '../generated/api.js';

export function toTaskStatus(row: TaskRow, extra: Pick<SchemaTaskStatus, 'metrics'> = {}): SchemaTaskStatus {
  return {
    task_id: row.task_id,
    status: row.status,
    type: row.type,
    progress: row.progress,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    error: row.error,
    model_id: row.model_id,
    model_version: row.model_version,
    ...extra,
  };
}
