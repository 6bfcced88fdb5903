import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PGliteDialect, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { DatabaseUnavailableError } from './errors.js';
import { type Notifications, PGliteNotifications, PostgresNotifications } from './notifications.js';
import { schemaScoped } from './introspector.js';
import type { Tables } from './schema.js';

export type DatabaseEngine = 'pglite' | 'postgres';

/** Runs plain SQL, for libraries that bring their own (pg-boss). */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The database's executor for pg-boss: its SQL, and LISTEN on the process's one listening
 * connection (pg-boss would otherwise hold one more per queue handle). `onReconnect` runs once
 * subscribed and after each reconnection, so pg-boss fetches what a lost notification announced.
 */
export interface ListeningExecutor extends SqlExecutor {
  listen(channel: string, onNotification: (payload: string) => void, onReconnect: () => void): Promise<{ close(): Promise<void> }>;
}

function listeningExecutor(executeSql: SqlExecutor['executeSql'], notifications: Notifications): ListeningExecutor {
  return {
    executeSql,
    async listen(channel, onNotification, onReconnect) {
      const unlisten = await notifications.listenChannel(channel, onNotification);
      const unsubscribe = notifications.onReconnect(onReconnect);
      onReconnect();
      return {
        async close() {
          unsubscribe();
          await unlisten();
        },
      };
    },
  };
}

/** An executor that runs inside a Kysely transaction, so that a library's SQL joins it. */
export function transactionExecutor(trx: Transaction<Tables>): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Database {
  readonly db: Kysely<Tables>;
  readonly engine: DatabaseEngine;
  readonly schema: string;
  readonly notifications: Notifications;
  readonly executor: ListeningExecutor;
  /** Round-trip time of a trivial query in ms; throws DatabaseUnavailableError past the timeout. */
  ping(timeoutMs?: number): Promise<number>;
  poolStats(): PoolStats;
  /**
   * Another handle on the same database with `poolSize` connections of its own (sharing LISTEN).
   * In-process workers use one, so a burst of HTTP requests cannot keep them waiting for a pooled
   * connection. PGlite has a single connection: its handle is this one. Closing it leaves this open.
   */
  withOwnPool(poolSize: number): Promise<Database>;
  close(): Promise<void>;
}

const INT8_OID = 20;
const DATE_OID = 1082;

const keepText = (value: string) => value;

export type DatabaseOptions = Pick<Config, 'databaseUrl' | 'databaseSchema' | 'databasePoolSize' | 'dataDir'>;

export async function openDatabase(options: DatabaseOptions, log: Logger): Promise<Database> {
  return options.databaseUrl === undefined ? openPGlite(options, log) : openPostgres(options.databaseUrl, options, log);
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function openPGlite(options: DatabaseOptions, log: Logger): Promise<Database> {
  const inMemory = options.dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(options.dataDir, { recursive: true });
  const unlock = inMemory ? () => {} : lockDataDir(options.dataDir);
  // int8 and date as strings, as node-postgres is set to read them, so both engines agree.
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({ dataDir: options.dataDir, parsers: { [INT8_OID]: keepText, [DATE_OID]: keepText } });
  } catch (error) {
    unlock();
    throw error;
  }
  const schema = options.databaseSchema;
  await pglite.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  log.info({ engine: 'pglite', dataDir: inMemory ? 'memory' : options.dataDir }, 'database opened');
  // Kysely's own PGlite dialect: one query or transaction at a time through Kysely, and a
  // transaction holds PGlite's transaction lock, so no other query (pg-boss') runs inside it.
  const db = new Kysely<Tables>({ dialect: schemaScoped(new PGliteDialect({ pglite }), schema) });
  const notifications = new PGliteNotifications(pglite, schema);
  let closed = false;
  return {
    db,
    engine: 'pglite',
    schema,
    notifications,
    executor: listeningExecutor(async (text, values) => {
      if (values && values.length > 0) return pglite.query(text, values);
      // Without parameters pg-boss may send several statements (its migrations): exec runs them all.
      const results = await pglite.exec(text);
      return { rows: results.flatMap((result) => result.rows) };
    }, notifications),
    async ping(timeoutMs = 2000) {
      const started = performance.now();
      await withTimeout(pglite.query('select 1'), timeoutMs, 'PGlite');
      return performance.now() - started;
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async withOwnPool() {
      return { ...this, close: async () => {} };
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      // Kysely closes its driver only if a query went through it; PGlite must close in any case.
      if (!pglite.closed) await pglite.close();
      unlock();
    },
  };
}

async function openPostgres(url: string, options: DatabaseOptions, log: Logger): Promise<Database> {
  const schema = options.databaseSchema;
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    // Fail fast when Postgres is down, so requests answer 503 instead of hanging.
    connectionTimeoutMillis: 3000,
    options: `-c search_path=${schema}`,
    application_name: 'portico',
  };
  const pool = openPool(clientConfig, options.databasePoolSize, log);
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const notifications = new PostgresNotifications(clientConfig, schema, log);
  await notifications.start();
  log.info({ engine: 'postgres', schema }, 'database opened');
  const database = postgresHandle(pool, schema, notifications, clientConfig, log);
  let closed = false;
  return {
    ...database,
    async close() {
      if (closed) return;
      closed = true;
      await notifications.close();
      await database.close();
    },
  };
}

function openPool(clientConfig: pg.ClientConfig, size: number, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig,
    max: size,
    idleTimeoutMillis: 30_000,
    // A calendar date stays YYYY-MM-DD: a Date object would shift it by the local time zone.
    types: { getTypeParser: (oid: number, format?: string) => (oid === DATE_OID ? keepText : pg.types.getTypeParser(oid, format as 'text')) },
  });
  // A connection the server drops must not crash the process: the pool handles idle ones, and a
  // checked-out one (between the queries of a transaction, say) would otherwise emit an unhandled
  // 'error'. The query in progress fails on its own and the pool replaces the connection.
  pool.on('error', (error) => log.warn({ err: error }, 'idle database connection lost'));
  pool.on('connect', (client) => client.on('error', (error) => log.warn({ err: error }, 'database connection lost')));
  return pool;
}

/** A handle on one pool; closing it ends the pool, not the shared notifications. */
function postgresHandle(pool: pg.Pool, schema: string, notifications: PostgresNotifications, clientConfig: pg.ClientConfig, log: Logger): Database {
  const db = new Kysely<Tables>({ dialect: schemaScoped(new PostgresDialect({ pool }), schema) });
  let closed = false;
  return {
    db,
    engine: 'postgres',
    schema,
    notifications,
    executor: listeningExecutor((text, values) => pool.query(text, values), notifications),
    async ping(timeoutMs = 2000) {
      const started = performance.now();
      await withTimeout(sql`select 1`.execute(db), timeoutMs, 'Postgres');
      return performance.now() - started;
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async withOwnPool(poolSize) {
      return postgresHandle(openPool(clientConfig, poolSize, log), schema, notifications, clientConfig, log);
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      // Kysely ends the pool only if a query went through it; it must end in any case.
      if (!pool.ending) await pool.end();
    },
  };
}
