import type { Kysely } from 'kysely';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import { migrations } from './migrations/index.js';

/**
 * The migrator of this schema's migrations. The bookkeeping tables are schema-qualified: Kysely
 * otherwise finds another schema's copy and skips creating its own.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are written against an untyped schema
export function createMigrator(db: Kysely<any>, schema: string): Migrator {
  return new Migrator({ db, migrationTableSchema: schema, provider: { getMigrations: async () => migrations } });
}

/** Applies every pending migration. Safe to run from several processes at once (Kysely locks). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are written against an untyped schema
export async function migrateToLatest(db: Kysely<any>, schema: string): Promise<string[]> {
  const { error, results }: MigrationResultSet = await createMigrator(db, schema).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
