import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { ModelRepository } from '../../src/db/models.js';
import type { ModelRow } from '../../src/db/schema.js';
import { initialModel } from '../../src/ml/model.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { dropSchema, type Engine, testConfig, testLogger } from './service.js';

/**
 * A real database for repository tests, without HTTP: PGlite in memory, or a schema of its own on
 * the test Postgres (dropped on close, with its pg-boss schema).
 */
export interface TestDatabase {
  engine: Engine;
  config: Config;
  database: Database;
  close(): Promise<void>;
}

/**
 * For a test that opens a database itself rather than in a hook: the hooks' timeout
 * (vitest.config.ts), since starting PGlite alone takes seconds on a loaded machine.
 */
export const OPENS_A_DATABASE = { timeout: 60_000 };

export async function openTestDatabase(engine: Engine, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const config = testConfig(engine);
  const database = await openDatabase(config, testLogger());
  if (options.migrate ?? true) await migrateToLatest(database.db, database.schema);
  return {
    engine,
    config,
    database,
    async close() {
      await database.close();
      await dropSchema(config);
    },
  };
}

/** The service's pg-boss queue on `database`, started (queues created). Stop it before closing the database. */
export async function startQueue(database: Database): Promise<TaskQueue> {
  // Maintenance (retrying expired jobs) has nothing to do in these tests: once a minute is plenty.
  const queue = new TaskQueue(database, testLogger(), { maintenanceIntervalSeconds: 60 });
  await queue.start();
  return queue;
}

/** The schema of pg-boss' tables, as TaskQueue names it. */
export const bossSchema = (database: Database) => (database.schema === 'public' ? 'pgboss' : `${database.schema}_pgboss`);

/**
 * The channel pg-boss NOTIFYs when a job is sent to a notify-enabled queue (the payload is the
 * queue's name), by pg-boss' own formula.
 */
export async function jobChannel(database: Database): Promise<string> {
  const { rows } = await sql<{ channel: string }>`select 'pgboss_' || left(encode(sha224(convert_to(${bossSchema(database)}, 'UTF8')), 'hex'), 24) as channel`.execute(database.db);
  return rows[0]!.channel;
}

/** Model version 1 (hand-set and active), then a second, standby version: tasks reference models. */
export async function twoModels(database: Database): Promise<[ModelRow, ModelRow]> {
  const models = new ModelRepository(database);
  const artifact = { ...initialModel() };
  await models.ensureInitial({ kind: 'hand-set', artifact, metrics: null, trainingTaskId: null, labelsUsed: 0 });
  const first = await models.active();
  const second = await models.addVersion({ kind: 'hand-set', artifact, metrics: null, trainingTaskId: null, labelsUsed: 0 }, () => ({ activate: false, status: 'standby', record: null }));
  if (!first) throw new Error('model version 1 was not created');
  return [first, second];
}

/**
 * Records the payloads of one NOTIFY channel. `drain()` sends a marker on the channel and waits
 * for it: notifications are delivered in commit order, so everything committed before the marker
 * has then arrived, and "nothing was notified" can be asserted without waiting for a while.
 */
export class NotificationRecorder {
  private received: string[] = [];
  private readonly markers = new Map<string, () => void>();
  private unlisten: () => Promise<void> = async () => {};

  private constructor(
    private readonly database: Database,
    /** The channel's full name. */
    private readonly channel: string,
  ) {}

  /** Records a channel of the service's own (a name without the schema prefix). */
  static listen(database: Database, channel: string): Promise<NotificationRecorder> {
    return NotificationRecorder.listenChannel(database, database.notifications.channel(channel));
  }

  /** Records a channel named in full (pg-boss' own, say). */
  static async listenChannel(database: Database, channel: string): Promise<NotificationRecorder> {
    const recorder = new NotificationRecorder(database, channel);
    recorder.unlisten = await database.notifications.listenChannel(channel, (payload) => recorder.receive(payload));
    return recorder;
  }

  private receive(payload: string): void {
    const arrived = this.markers.get(payload);
    if (!arrived) {
      this.received.push(payload);
      return;
    }
    this.markers.delete(payload);
    arrived();
  }

  /** The payloads notified since the last drain, in order. */
  async drain(): Promise<string[]> {
    const marker = `marker-${randomUUID()}`;
    const arrived = new Promise<void>((resolve) => this.markers.set(marker, resolve));
    await sql`select pg_notify(${this.channel}, ${marker})`.execute(this.database.db);
    await arrived;
    const received = this.received;
    this.received = [];
    return received;
  }

  stop(): Promise<void> {
    return this.unlisten();
  }
}

/** Runs `work` on a connection of its own to the test's Postgres schema (not the Database's pool). */
export async function withOtherConnection<T>(test: TestDatabase, work: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!test.config.databaseUrl) throw new Error('another connection needs Postgres');
  const client = new pg.Client({ connectionString: test.config.databaseUrl, options: `-c search_path=${test.config.databaseSchema}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Polls `read` until `done` holds of its result (or throws after `timeoutMs`). For what depends on
 * other sessions: event listings wait for every older transaction on the server, and test files
 * run side by side on one Postgres.
 */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(20)) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`the condition did not hold within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
  }
}
