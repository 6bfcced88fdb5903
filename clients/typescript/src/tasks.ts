import type { PorticoClient } from './client.js';
import { unwrap } from './errors.js';
import type { components } from './generated/api.js';
import { sleep } from './retry.js';

export type TaskKind = 'inference' | 'training';
export type TaskState = components['schemas']['TaskState'];
export type TaskStatus = components['schemas']['TaskStatus'];

/** The states a task never leaves. */
export const TERMINAL_STATES: readonly TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

export interface WaitForTaskOptions {
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Time between two polls, in ms (default 1000). */
  intervalMs?: number;
  /** Give up after this long, in ms: the promise rejects with a TimeoutError (default: never). */
  timeoutMs?: number;
}

function getStatus(client: PorticoClient, kind: TaskKind, taskId: string, signal: AbortSignal | undefined): Promise<TaskStatus> {
  const init = { params: { path: { task_id: taskId } }, signal };
  return kind === 'inference' ? unwrap(client.GET('/inference/status/{task_id}', init)) : unwrap(client.GET('/train/status/{task_id}', init));
}

function combinedSignal(signal: AbortSignal | undefined, timeoutMs: number | undefined): AbortSignal | undefined {
  const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter((s) => s !== undefined);
  return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}

/**
 * Polls the task's status until it is SUCCESS, FAILURE or REVOKED and resolves with that status
 * (a FAILURE resolves too: look at `status` and `error`). Error answers reject with PorticoError.
 */
export async function waitForTask(client: PorticoClient, kind: TaskKind, taskId: string, options: WaitForTaskOptions = {}): Promise<TaskStatus> {
  const signal = combinedSignal(options.signal, options.timeoutMs);
  for (;;) {
    const status = await getStatus(client, kind, taskId, signal);
    if (isTerminal(status.status)) return status;
    await sleep(options.intervalMs ?? 1000, signal);
  }
}
