import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ResultRepository } from '../../src/db/results.js';
import type { ModelRow, TaskRow, TaskType } from '../../src/db/schema.js';
import { TaskEventRepository } from '../../src/db/task-events.js';
import { type Enqueue, TASK_CANCELS, TASK_EVENTS, TaskRepository } from '../../src/db/tasks.js';
import { UserRepository } from '../../src/db/users.js';
import type { QueueName, TaskQueue } from '../../src/queue/task-queue.js';
import { jobChannel, NotificationRecorder, openTestDatabase, startQueue, type TestDatabase, twoModels } from '../support/database.js';
import { engines } from '../support/service.js';
import { SEARCH } from '../support/tasks.js';

describe.each(engines())('TaskRepository on %s', (engine) => {
  let test: TestDatabase;
  let queue: TaskQueue;
  let tasks: TaskRepository;
  let taskEvents: TaskEventRepository;
  let users: UserRepository;
  let results: ResultRepository;
  let first: ModelRow;
  let second: ModelRow;
  let notified: { events: NotificationRecorder; cancels: NotificationRecorder; jobs: NotificationRecorder };

  beforeAll(async () => {
    test = await openTestDatabase(engine);
    queue = await startQueue(test.database);
    [first, second] = await twoModels(test.database);
    tasks = new TaskRepository(test.database);
    taskEvents = new TaskEventRepository(test.database);
    users = new UserRepository(test.database);
    results = new ResultRepository(test.database);
    notified = {
      events: await NotificationRecorder.listen(test.database, TASK_EVENTS),
      cancels: await NotificationRecorder.listen(test.database, TASK_CANCELS),
      jobs: await NotificationRecorder.listenChannel(test.database, await jobChannel(test.database)),
    };
  });
  afterAll(async () => {
    for (const recorder of Object.values(notified ?? {})) await recorder.stop();
    await queue?.stop();
    await test?.close();
  });
  // Each test asserts only the notifications its own steps send.
  beforeEach(async () => {
    for (const recorder of Object.values(notified)) await recorder.drain();
  });

  const model = (row: ModelRow) => ({ id: row.model_id, version: row.version });
  const newInference = (owner = 'acme') => tasks.createInference(owner, SEARCH, queue.enqueue('inference'));
  const newTraining = (owner = 'acme', params: Record<string, unknown> = { epochs: 4 }) => tasks.createTraining(owner, params, queue.enqueue('training'));
  const current = async (task: TaskRow) => (await tasks.get(undefined, task.task_id, task.type))!;
  const history = async (task: TaskRow) => (await taskEvents.after(task.task_id, '0')).map(({ status, progress, data }) => ({ status, progress, data }));
  /** Task ids named by the TASK_EVENTS notifications since the last drain (each carries a comma-separated list). */
  const notifiedTasks = async () => (await notified.events.drain()).flatMap((payload) => payload.split(','));
  const claimed = async (task: TaskRow, by: ModelRow = first) => {
    const [row] = await tasks.claimInference([task.task_id], model(by));
    if (!row) throw new Error(`task ${task.task_id} was not claimed`);
    return row;
  };
  const succeeded = async (task: TaskRow) => {
    await claimed(task);
    expect(await tasks.completeInference([{ taskId: task.task_id, locationIds: [1], scores: [0.5], explorationRanks: [] }])).toEqual([task.task_id]);
  };

  describe('creating', () => {
    it('stores the search, the PENDING task, its first event and its job together, and notifies', async () => {
      const task = await newInference();
      expect(task).toMatchObject({
        type: 'inference',
        owner: 'acme',
        status: 'PENDING',
        progress: 0,
        attempts: 0,
        params: null,
        model_id: null,
        model_version: null,
        error: null,
        started_at: null,
        finished_at: null,
      });
      expect(await users.get(task.user_id!)).toMatchObject({ ...SEARCH, owner: 'acme' });
      expect(await history(task)).toEqual([{ status: 'PENDING', progress: 0, data: {} }]);
      expect(await notifiedTasks()).toEqual([task.task_id]);
      expect(await notified.jobs.drain()).toEqual(['inference']);
      const jobs = await queue.fetch('inference', 100);
      expect(jobs.map((job) => job.data)).toContainEqual({ task_id: task.task_id });
    });

    it('stores a training task with its parameters and a training job, and no search', async () => {
      const usersBefore = await users.count();
      const task = await newTraining('acme', { epochs: 3, learning_rate: 0.1 });
      expect(task).toMatchObject({ type: 'training', status: 'PENDING', params: { epochs: 3, learning_rate: 0.1 }, user_id: null });
      expect(await users.count()).toBe(usersBefore);
      expect(await history(task)).toEqual([{ status: 'PENDING', progress: 0, data: {} }]);
      expect(await notifiedTasks()).toEqual([task.task_id]);
      expect(await notified.jobs.drain()).toEqual(['training']);
      const jobs = await queue.fetch('training', 100);
      expect(jobs.map((job) => job.data)).toContainEqual({ task_id: task.task_id });
    });

    it.each<QueueName>(['inference', 'training'])('leaves nothing behind when the enqueue step fails (%s)', async (type) => {
      // The real enqueue, then a statement that fails in the same transaction.
      const failing: Enqueue = async (executor, taskId) => {
        await queue.enqueue(type)(executor, taskId);
        await executor.executeSql('select 1 / 0');
      };
      const owner = `owner-${randomUUID()}`;
      const queued = async () => (await queue.boss.findJobs(type, { queued: true })).length;
      const [usersBefore, jobsBefore] = [await users.count(), await queued()];
      const create = type === 'inference' ? tasks.createInference(owner, SEARCH, failing) : tasks.createTraining(owner, { epochs: 1 }, failing);
      await expect(create).rejects.toThrow(/division by zero/);

      expect(await tasks.list({ owner, type, limit: 10 })).toEqual([]);
      expect(await users.count()).toBe(usersBefore);
      expect(await queued()).toBe(jobsBefore);
      expect(await notifiedTasks()).toEqual([]);
      expect(await notified.jobs.drain()).toEqual([]);
    });
  });

  describe('claiming inference tasks', () => {
    it('starts only runnable inference tasks, pins the model and counts the attempt', async () => {
      const pending = await newInference();
      const revoked = await newInference();
      await tasks.revoke(undefined, revoked.task_id, 'inference');
      const done = await newInference();
      await succeeded(done);
      const training = await newTraining();
      await notified.events.drain();

      const rows = await tasks.claimInference([pending, revoked, done, training].map((task) => task.task_id).concat(randomUUID()), model(first));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        task_id: pending.task_id,
        status: 'STARTED',
        attempts: 1,
        model_id: first.model_id,
        model_version: first.version,
        started_at: expect.any(Date),
        user: { ...SEARCH, owner: 'acme', user_id: pending.user_id },
      });
      expect((await current(revoked)).status).toBe('REVOKED');
      expect((await current(done)).status).toBe('SUCCESS');
      expect((await current(training)).status).toBe('PENDING');
      expect(await history(pending)).toEqual([
        { status: 'PENDING', progress: 0, data: {} },
        { status: 'STARTED', progress: 0, data: { attempt: 1 } },
      ]);
      expect(await notifiedTasks()).toEqual([pending.task_id]);
      expect(await tasks.claimInference([], model(first))).toEqual([]);
    });

    it('claims many tasks at once and names them all in one notification', async () => {
      const batch = [await newInference(), await newInference('other'), await newInference()];
      await notified.events.drain();
      const rows = await tasks.claimInference(batch.map((task) => task.task_id), model(first));
      expect(rows.map((row) => row.task_id).sort()).toEqual(batch.map((task) => task.task_id).sort());
      expect(rows.map((row) => row.user.owner).sort()).toEqual(['acme', 'acme', 'other']);
      const payloads = await notified.events.drain();
      expect(payloads).toHaveLength(1);
      expect(payloads[0]!.split(',').sort()).toEqual(batch.map((task) => task.task_id).sort());
    });

    it('runs a retried or abandoned task again with the model it was first given', async () => {
      const task = await newInference();
      await claimed(task, first);
      expect(await tasks.fail(task.task_id, 'RETRY', 'worker lost')).toBe(true);
      // Retried after another model became the one to use: the task keeps its first.
      expect(await claimed(task, second)).toMatchObject({ status: 'STARTED', attempts: 2, model_id: first.model_id, model_version: first.version });
      // Left STARTED by a worker that died: claimed again, still with its first model.
      expect(await claimed(task, second)).toMatchObject({ status: 'STARTED', attempts: 3, model_id: first.model_id });
      expect(await history(task)).toEqual([
        { status: 'PENDING', progress: 0, data: {} },
        { status: 'STARTED', progress: 0, data: { attempt: 1 } },
        { status: 'RETRY', progress: 0, data: { error: 'worker lost' } },
        { status: 'STARTED', progress: 0, data: { attempt: 2 } },
        { status: 'STARTED', progress: 0, data: { attempt: 3 } },
      ]);
    });
  });

  describe('completing inference tasks', () => {
    it('completes only STARTED tasks, stores their results at most once and clears the error', async () => {
      const started = await newInference();
      await claimed(started);
      await tasks.fail(started.task_id, 'RETRY', 'flaky');
      await claimed(started);
      const pending = await newInference();
      const revoked = await newInference();
      await claimed(revoked);
      await tasks.revoke(undefined, revoked.task_id, 'inference');
      await notified.events.drain();

      const outcome = (task: TaskRow, locationIds: number[]) => ({ taskId: task.task_id, locationIds, scores: locationIds.map((id) => 1 / id), explorationRanks: [] });
      expect(await tasks.completeInference([outcome(started, [3, 1, 2]), outcome(pending, [4]), outcome(revoked, [5])])).toEqual([started.task_id]);

      expect(await current(started)).toMatchObject({ status: 'SUCCESS', progress: 1, error: null, finished_at: expect.any(Date) });
      expect(await results.get(started.task_id)).toMatchObject({ location_ids: [3, 1, 2], scores: [1 / 3, 1, 1 / 2], shown_count: 0 });
      expect((await current(pending)).status).toBe('PENDING');
      expect((await current(revoked)).status).toBe('REVOKED');
      expect(await results.get(pending.task_id)).toBeUndefined();
      expect(await results.get(revoked.task_id)).toBeUndefined();
      expect((await history(started)).at(-1)).toEqual({ status: 'SUCCESS', progress: 1, data: {} });
      expect(await notifiedTasks()).toEqual([started.task_id]);

      const events = await history(started);
      expect(await tasks.completeInference([outcome(started, [9])])).toEqual([]);
      expect((await results.get(started.task_id))?.location_ids).toEqual([3, 1, 2]);
      expect(await history(started)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
      expect(await tasks.completeInference([])).toEqual([]);
    });
  });

  describe('training transitions', () => {
    it('claims a runnable training task only, and restarts its progress', async () => {
      const training = await newTraining();
      const inference = await newInference();
      expect(await tasks.claimTraining(inference.task_id)).toBeUndefined();
      expect(await tasks.claimTraining(randomUUID())).toBeUndefined();
      expect(await tasks.claimTraining(training.task_id)).toMatchObject({ status: 'STARTED', attempts: 1, progress: 0, started_at: expect.any(Date) });
      expect(await tasks.progress(training.task_id, 0.5, { epoch: 2, epochs: 4 })).toBe(true);
      await tasks.fail(training.task_id, 'RETRY', 'out of memory');
      expect(await tasks.claimTraining(training.task_id)).toMatchObject({ status: 'STARTED', attempts: 2, progress: 0 });
      expect((await history(training)).map((event) => [event.status, event.progress, event.data])).toEqual([
        ['PENDING', 0, {}],
        ['STARTED', 0, { attempt: 1 }],
        ['STARTED', 0.5, { epoch: 2, epochs: 4 }],
        ['RETRY', 0.5, { error: 'out of memory' }],
        ['STARTED', 0, { attempt: 2 }],
      ]);
    });

    it('records progress of a running task only', async () => {
      const task = await newTraining();
      await notified.events.drain();
      expect(await tasks.progress(task.task_id, 0.5, { epoch: 2 })).toBe(false);
      expect(await current(task)).toMatchObject({ status: 'PENDING', progress: 0 });
      expect(await notifiedTasks()).toEqual([]);

      await tasks.claimTraining(task.task_id);
      await notified.events.drain();
      expect(await tasks.progress(task.task_id, 0.25, { epoch: 1, epochs: 4, loss: 0.7 })).toBe(true);
      expect(await current(task)).toMatchObject({ status: 'STARTED', progress: 0.25 });
      expect((await history(task)).at(-1)).toEqual({ status: 'STARTED', progress: 0.25, data: { epoch: 1, epochs: 4, loss: 0.7 } });
      expect(await notifiedTasks()).toEqual([task.task_id]);

      await tasks.revoke(undefined, task.task_id, 'training');
      await notified.events.drain();
      const events = await history(task);
      expect(await tasks.progress(task.task_id, 0.5, { epoch: 2 })).toBe(false);
      expect(await current(task)).toMatchObject({ status: 'REVOKED', progress: 0.25 });
      expect(await history(task)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
    });

    it('completes training with the model it produced, once', async () => {
      const task = await newTraining();
      await tasks.claimTraining(task.task_id);
      await notified.events.drain();
      expect(await tasks.completeTraining(task.task_id, model(second), { labels_used: 12 })).toBe(true);
      expect(await current(task)).toMatchObject({
        status: 'SUCCESS',
        progress: 1,
        model_id: second.model_id,
        model_version: second.version,
        error: null,
        finished_at: expect.any(Date),
      });
      expect((await history(task)).at(-1)).toEqual({ status: 'SUCCESS', progress: 1, data: { labels_used: 12 } });
      expect(await notifiedTasks()).toEqual([task.task_id]);

      const events = await history(task);
      expect(await tasks.completeTraining(task.task_id, model(first), {})).toBe(false);
      expect(await tasks.fail(task.task_id, 'FAILURE', 'too late')).toBe(false);
      expect(await tasks.claimTraining(task.task_id)).toBeUndefined();
      expect(await current(task)).toMatchObject({ status: 'SUCCESS', model_id: second.model_id, error: null });
      expect(await history(task)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
    });
  });

  describe('failing', () => {
    it('marks RETRY (the task stays runnable) or FAILURE (final), with the error', async () => {
      const task = await newTraining();
      await tasks.claimTraining(task.task_id);
      await notified.events.drain();

      expect(await tasks.fail(task.task_id, 'RETRY', 'out of memory')).toBe(true);
      expect(await current(task)).toMatchObject({ status: 'RETRY', error: 'out of memory', finished_at: null });
      expect((await history(task)).at(-1)).toEqual({ status: 'RETRY', progress: 0, data: { error: 'out of memory' } });
      expect(await notifiedTasks()).toEqual([task.task_id]);

      expect(await tasks.fail(task.task_id, 'FAILURE', 'gave up')).toBe(true);
      expect(await current(task)).toMatchObject({ status: 'FAILURE', error: 'gave up', finished_at: expect.any(Date) });
      expect((await history(task)).at(-1)).toEqual({ status: 'FAILURE', progress: 0, data: { error: 'gave up' } });
      expect(await notifiedTasks()).toEqual([task.task_id]);

      const events = await history(task);
      expect(await tasks.fail(task.task_id, 'RETRY', 'again')).toBe(false);
      expect((await tasks.revoke(undefined, task.task_id, 'training'))?.status).toBe('FAILURE');
      expect(await current(task)).toMatchObject({ status: 'FAILURE', error: 'gave up' });
      expect(await history(task)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
      expect(await tasks.fail(randomUUID(), 'FAILURE', 'unknown')).toBe(false);
    });
  });

  describe('revoking', () => {
    it('revokes a task that has not ended, once, and tells a running worker to stop', async () => {
      const task = await newTraining();
      await tasks.claimTraining(task.task_id);
      await tasks.progress(task.task_id, 0.5, { epoch: 2 });
      for (const recorder of Object.values(notified)) await recorder.drain();

      const revoked = await tasks.revoke('acme', task.task_id, 'training');
      expect(revoked).toMatchObject({ task_id: task.task_id, status: 'REVOKED', progress: 0.5, finished_at: expect.any(Date) });
      expect((await history(task)).at(-1)).toEqual({ status: 'REVOKED', progress: 0.5, data: {} });
      expect(await notifiedTasks()).toEqual([task.task_id]);
      expect(await notified.cancels.drain()).toEqual([task.task_id]);

      const events = await history(task);
      const again = await tasks.revoke('acme', task.task_id, 'training');
      expect(again).toMatchObject({ status: 'REVOKED', finished_at: revoked!.finished_at });
      expect(await history(task)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
      expect(await notified.cancels.drain()).toEqual([]);
    });

    it('leaves finished tasks as they are', async () => {
      const task = await newInference();
      await succeeded(task);
      await notified.events.drain();
      const events = await history(task);
      expect(await tasks.revoke('acme', task.task_id, 'inference')).toMatchObject({ status: 'SUCCESS' });
      expect(await history(task)).toEqual(events);
      expect(await notifiedTasks()).toEqual([]);
      expect(await notified.cancels.drain()).toEqual([]);
    });

    it.each<[string, string | undefined, TaskType | 'id']>([
      ['another owner', 'someone-else', 'inference'],
      ['another type', 'acme', 'training'],
      ['an unknown id', undefined, 'id'],
    ])('does not see a task asked for by %s', async (_case, owner, type) => {
      const task = await newInference();
      const taskId = type === 'id' ? randomUUID() : task.task_id;
      expect(await tasks.revoke(owner, taskId, type === 'id' ? 'inference' : type)).toBeUndefined();
      expect((await current(task)).status).toBe('PENDING');
      expect(await notified.cancels.drain()).toEqual([]);
      // Admins (no owner) may revoke any owner's task.
      expect((await tasks.revoke(undefined, task.task_id, 'inference'))?.status).toBe('REVOKED');
    });
  });
});
