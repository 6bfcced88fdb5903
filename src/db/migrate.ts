import { type Kysely, type MigrationResultSet, Migrator } from 'kysely';
import { migrations } from './migrations/index.js';

/**
 * Applies every pending migration. Safe to run from several processes at once (Kysely locks).
 * The bookkeeping tables are schema-qualified: Kysely otherwise finds another schema's copy and
 * skips creating its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are written against an untyped schema
export async function migrateToLatest(db: Kysely<any>, schema: string): Promise<string[]> {
  const migrator = new Migrator({ db, migrationTableSchema: schema, provider: { getMigrations: async () => migrations } });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
