import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { openBackend, stopOnSignal } from './service.js';
import { startWorkers } from './workers.js';

/**
 * `make worker`: task workers only, no HTTP. Run any number of these beside API processes started
 * with RUN_WORKERS=false; they share one Postgres (DATABASE_URL).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, role: 'worker' } });
  const { database, queue } = await openBackend(config, logger);
  const workers = await startWorkers(config, database, queue, logger);
  logger.info({ engine: database.engine }, 'worker started');
  process.stderr.write(`\n  Portico worker started (queues: inference, training; ${database.engine})\n\n`);
  // Running jobs finish; queued ones stay queued for the next worker.
  stopOnSignal(logger, 'stopping workers', async () => {
    await workers.stop();
    await queue.stop();
    await database.close();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
