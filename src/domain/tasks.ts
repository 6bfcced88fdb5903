import type { SchemaTaskState } from '../generated/api.js';
import { DomainError } from './errors.js';

/** 404 for unknown tasks and for other owners' tasks alike, so ids cannot be probed. */
export function taskNotFound(taskId: string): DomainError {
  return DomainError.notFound(`No task with task_id "${taskId}" exists.`);
}

/** The task is not (or no longer) in the state the operation needs. */
export function taskNotReady(status: SchemaTaskState, detail: string): DomainError {
  return new DomainError('task_not_ready', detail, { extensions: { current_status: status } });
}
