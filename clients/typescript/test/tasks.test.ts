/** waitForTask against mocked status answers. */
import { describe, expect, it } from 'vitest';
import { PorticoError, type TaskState, waitForTask } from '../src/index.js';
import { http, useMockApi } from './support/mock-api.js';
import { asSchema, problemExample, successExample } from './support/spec.js';

const api = useMockApi();
const success = successExample('getInferenceStatus', 'TaskStatus');
const taskId = success.task_id;

/** Answers the status polls with these states in turn (the last one repeats); counts the polls. */
function statuses(states: TaskState[], path: '/inference/status/{task_id}' | '/train/status/{task_id}' = '/inference/status/{task_id}') {
  const polls = { count: 0 };
  api.server.use(
    http.get(path, ({ params, response }) => {
      expect(params.task_id).toBe(taskId);
      const status = states[Math.min(polls.count, states.length - 1)] ?? 'PENDING';
      polls.count++;
      const finished = status === 'SUCCESS' || status === 'FAILURE' || status === 'REVOKED';
      return response(200).json(asSchema('TaskStatus', { ...success, status, finished_at: finished ? success.finished_at : null }));
    }),
  );
  return polls;
}

describe('waitForTask', () => {
  it('polls until SUCCESS and resolves with the final status', async () => {
    const polls = statuses(['PENDING', 'STARTED', 'RETRY', 'STARTED', 'SUCCESS']);
    expect(await waitForTask(api.client(), 'inference', taskId, { intervalMs: 5 })).toEqual(success);
    expect(polls.count).toBe(5);
  });

  it.each<TaskState>(['FAILURE', 'REVOKED'])('resolves with a %s status too', async (state) => {
    statuses(['STARTED', state]);
    expect(await waitForTask(api.client(), 'inference', taskId, { intervalMs: 5 })).toMatchObject({ status: state });
  });

  it('polls training tasks at their own path', async () => {
    const polls = statuses(['STARTED', 'SUCCESS'], '/train/status/{task_id}');
    expect(await waitForTask(api.client(), 'training', taskId, { intervalMs: 5 })).toMatchObject({ status: 'SUCCESS' });
    expect(polls.count).toBe(2);
  });

  it('rejects with the signal reason when aborted, and stops polling', async () => {
    const polls = statuses(['STARTED']);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('no longer needed')), 50);
    await expect(waitForTask(api.client(), 'inference', taskId, { intervalMs: 10, signal: controller.signal })).rejects.toThrow('no longer needed');
    const after = polls.count;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(polls.count).toBe(after);
    expect(after).toBeGreaterThan(1);
  });

  it('rejects at once with an already aborted signal', async () => {
    const polls = statuses(['STARTED']);
    await expect(waitForTask(api.client(), 'inference', taskId, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(polls.count).toBe(0);
  });

  it('rejects with a TimeoutError after timeoutMs', async () => {
    statuses(['PENDING']);
    await expect(waitForTask(api.client(), 'inference', taskId, { intervalMs: 10, timeoutMs: 60 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects with a PorticoError on a problem answer', async () => {
    api.server.use(http.get('/inference/status/{task_id}', ({ response }) => response(404).json(problemExample(404))));
    const rejection = waitForTask(api.client(), 'inference', taskId, { intervalMs: 5 });
    await expect(rejection).rejects.toBeInstanceOf(PorticoError);
    await expect(rejection).rejects.toMatchObject({ status: 404, requestId: problemExample(404).request_id });
  });
});
