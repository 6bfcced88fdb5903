import type { PGlite, Transaction } from '@electric-sql/pglite';
import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';

/**
 * A Kysely dialect for embedded PGlite.
 *
 * PGlite is a single connection. Sending BEGIN and COMMIT as plain queries (as kysely-pglite 0.6
 * does) lets any concurrent query run inside someone else's transaction. Here a Kysely transaction
 * holds PGlite's own transaction lock (`PGlite.transaction`), so every other query waits until it
 * ends, as a query on another Postgres connection would be isolated from it.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

interface OpenTransaction {
  tx: Transaction;
  decide: (commit: boolean) => void;
  done: Promise<unknown>;
}

class PGliteConnection implements DatabaseConnection {
  transaction: OpenTransaction | undefined;

  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const executor = this.transaction?.tx ?? this.pglite;
    const result = await executor.query<R>(compiled.sql, [...compiled.parameters]);
    return result.affectedRows === undefined
      ? { rows: result.rows }
      : { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) };
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries');
  }
}

class PGliteDriver implements Driver {
  constructor(private readonly pglite: PGlite) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PGliteConnection(this.pglite);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    let decide: (commit: boolean) => void = () => {};
    const decision = new Promise<boolean>((resolve) => (decide = resolve));
    let started: (tx: Transaction) => void = () => {};
    const ready = new Promise<Transaction>((resolve) => (started = resolve));
    const done = this.pglite.transaction(async (tx) => {
      started(tx);
      if (!(await decision)) await tx.rollback();
    });
    const tx = await Promise.race([
      ready,
      done.then(() => Promise.reject(new Error('PGlite transaction ended before it started'))),
    ]);
    (connection as PGliteConnection).transaction = { tx, decide, done };
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as PGliteConnection, true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.finish(connection as PGliteConnection, false);
  }

  private async finish(connection: PGliteConnection, commit: boolean): Promise<void> {
    const open = connection.transaction;
    if (!open) throw new Error('No PGlite transaction is open on this connection');
    connection.transaction = undefined;
    open.decide(commit);
    await open.done;
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    await this.pglite.close();
  }
}
