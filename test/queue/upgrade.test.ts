import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { LocationRepository } from '../../src/db/locations.js';
import { ModelRepository } from '../../src/db/models.js';
import type { TaskRow } from '../../src/db/schema.js';
import { type Enqueue, TaskRepository } from '../../src/db/tasks.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import { bootstrapRecommender } from '../../src/recommender/bootstrap.js';
import { type RunningWorkers, startWorkers } from '../../src/workers.js';
import { bossSchema, eventually, openTestDatabase, startQueue, type TestDatabase } from '../support/database.js';
import { engines, testLogger } from '../support/service.js';
import { SEARCH } from '../support/tasks.js';

/** pg-boss 10.4.2's own schema (version 24), frozen when the service moved to pg-boss 12. */
const VERSION_10_SCHEMA = readFileSync(new URL('../fixtures/pgboss-v10-schema.sql', import.meta.url), 'utf8');

/**
 * A database a pg-boss 10 service left behind: its schema, its queues, and jobs in each state. pg-boss
 * 12 cannot migrate it (its migrations start at 11's schema); the queue moves what was unfinished.
 */
describe.each(engines())('starting pg-boss 12 on a pg-boss 10 queue, on %s', (engine) => {
  let test: TestDatabase;
  let queue: TaskQueue | undefined;
  let workers: RunningWorkers | undefined;
  let tasks: TaskRepository;
  let schema: string;
  let left: Record<'created' | 'active' | 'retry' | 'completed' | 'training', TaskRow>;

  beforeAll(async () => {
    test = await openTestDatabase(engine);
    schema = bossSchema(test.database);
    tasks = new TaskRepository(test.database);
    await bootstrapRecommender(new LocationRepository(test.database), new ModelRepository(test.database), testLogger());
    await test.database.executor.executeSql(VERSION_10_SCHEMA.replaceAll('__SCHEMA__', schema));
    for (const [name, options] of [
      ['inference_dead', { policy: 'standard' }],
      ['inference', { policy: 'standard', retryLimit: 3, retryDelay: 1, retryBackoff: true, expireInSeconds: 10, deadLetter: 'inference_dead' }],
      ['training_dead', { policy: 'standard' }],
      ['training', { policy: 'standard', retryLimit: 2, retryDelay: 5, retryBackoff: true, expireInSeconds: 300, deadLetter: 'training_dead' }],
    ] as const) {
      await sql`select ${sql.id(schema, 'create_queue')}(${name}, ${JSON.stringify(options)}::json)`.execute(test.database.db);
    }
    // Tasks created as pg-boss 10 did: the job in the task's own transaction, here in a given state.
    const version10Job =
      (name: string, state: string): Enqueue =>
      async (executor, taskId) => {
        await executor.executeSql(`insert into ${schema}.job (name, data, state) values ($1, $2, $3)`, [name, JSON.stringify({ task_id: taskId }), state]);
      };
    const inference = (state: string) => tasks.createInference('acme', SEARCH, version10Job('inference', state));
    left = {
      created: await inference('created'),
      active: await inference('active'),
      retry: await inference('retry'),
      completed: await inference('completed'),
      training: await tasks.createTraining('acme', { epochs: 1 }, version10Job('training', 'created')),
    };
  });
  afterAll(async () => {
    await workers?.stop();
    await queue?.stop();
    await test?.close();
  });

  const queuedTaskIds = async (name: 'inference' | 'training') =>
    (await queue!.boss.findJobs<{ task_id: string }>(name, { queued: true })).map((job) => job.data.task_id).sort();

  it('installs pg-boss 12 and moves the unfinished jobs into its queues, once', async () => {
    queue = await startQueue(test.database);
    expect(await queue.boss.schemaVersion()).toBeGreaterThan(24);
    const schemas = await sql<{ nspname: string }>`select nspname from pg_namespace where nspname like ${`${schema}%`} order by nspname`.execute(test.database.db);
    expect(schemas.rows.map((row) => row.nspname)).toEqual([schema]);
    expect(await queuedTaskIds('inference')).toEqual([left.created, left.active, left.retry].map((task) => task.task_id).sort());
    expect(await queuedTaskIds('training')).toEqual([left.training.task_id]);

    // A second start (another process, or a restart) finds nothing left to move.
    await queue.stop();
    queue = await startQueue(test.database);
    expect(await queuedTaskIds('inference')).toHaveLength(3);
  });

  it('runs the moved jobs to their end', async () => {
    workers = await startWorkers(test.config, test.database, queue!, testLogger());
    const status = async (task: TaskRow) => (await tasks.get(undefined, task.task_id, task.type))!.status;
    for (const task of [left.created, left.active, left.retry]) await eventually(() => status(task), (value) => value === 'SUCCESS');
    // The job pg-boss 10 had completed stays as it was: nobody runs its task again.
    expect(await status(left.completed)).toBe('PENDING');
  });
});
