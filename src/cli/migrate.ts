import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';

/** `make migrate`: applies pending migrations to the configured database and exits. */
try {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  const database = await openDatabase(config, logger);
  try {
    const applied = await migrateToLatest(database.db, database.schema);
    process.stdout.write(applied.length > 0 ? `Applied: ${applied.join(', ')}\n` : 'The database is up to date.\n');
  } finally {
    await database.close();
  }
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
