import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp, type PorticoApp } from './app.js';
import { rawErrorAnswer, transportProblem } from './http/errors.js';
import type { Config } from './config.js';
import { type Database, openDatabase } from './db/database.js';
import { LocationRepository } from './db/locations.js';
import { migrateToLatest } from './db/migrate.js';
import { ModelRepository } from './db/models.js';
import { TaskQueue } from './queue/task-queue.js';
import { bootstrapRecommender } from './recommender/bootstrap.js';
import { type RunningWorkers, type WorkerHooks, startInProcessWorkers } from './workers.js';

export interface RunningService {
  server: Server;
  app: PorticoApp;
  database: Database;
  queue: TaskQueue;
  workers: RunningWorkers | undefined;
  url: string;
  /** Graceful stop: refuse new connections, finish in-flight requests (up to the timeout), close the database. */
  stop(): Promise<void>;
}

export interface Backend {
  database: Database;
  queue: TaskQueue;
}

/**
 * Requests Node's HTTP parser refuses before the app sees them (headers or URL over 16 KB,
 * malformed request lines) still get a problem+json answer with a request id.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? transportProblem('headers_too_large', 'The request line and headers exceed 16 KB.')
      : transportProblem('malformed_request', 'The request is not valid HTTP.');
  // The path, when the request line made it into the packet, picks the error dialect (OpenAI's on /v1).
  const rawPacket: unknown = (error as { rawPacket?: unknown }).rawPacket;
  const path = Buffer.isBuffer(rawPacket) ? /^[A-Z]{1,20} (\/[^\s?#]{0,2000})/.exec(rawPacket.subarray(0, 4096).toString('latin1'))?.[1] : undefined;
  socket.end(rawErrorAnswer(problem, path ?? '/', randomUUID()));
}

/** On SIGTERM or SIGINT: `stop`, then exit 0 (1 when stopping failed). */
export function stopOnSignal(logger: Logger, message: string, stop: () => Promise<void>): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, message);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** What every process needs: the migrated database, the job queue, the catalogue and model 1. */
export async function openBackend(config: Config, logger: Logger): Promise<Backend> {
  const database = await openDatabase(config, logger);
  try {
    const applied = await migrateToLatest(database.db, database.schema);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
    const queue = new TaskQueue(database, logger, { maintenanceIntervalSeconds: config.queueMaintenanceSeconds });
    await queue.start();
    await bootstrapRecommender(new LocationRepository(database), new ModelRepository(database), logger);
    return { database, queue };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** The kernel caps it at net.core.somaxconn (4096 on current Linux). */
const LISTEN_BACKLOG = 4096;

/** Opens the backend, builds the app, starts the workers (unless RUN_WORKERS=false) and listens. */
export async function startService(
  config: Config,
  logger: Logger,
  announce: (text: string) => void,
  hooks: WorkerHooks = {},
): Promise<RunningService> {
  const { database, queue } = await openBackend(config, logger);
  const app = await createApp({ config, database, queue, logger });
  await app.keys.bootstrapAdmin(config.adminToken, logger, (token) =>
    announce(`An admin API key was created. Its token is shown only this once:\n\n    ${token}\n\n  Use it as "Authorization: Bearer <token>"; set ADMIN_TOKEN to choose your own.`),
  );

  const workers = config.runWorkers ? await startInProcessWorkers(config, database, logger, hooks) : undefined;

  const server = createServer(app.listener);
  server.on('upgrade', (req, socket, head) => void app.upgrade(req, socket, head));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A burst of new connections (thousands of clients reconnecting at once) waits in the kernel's
    // accept queue instead of overflowing Node's default of 511 and retrying SYNs for seconds.
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      app.beginShutdown();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that finish their last response later must not idle on until keep-alive ends.
      server.closeIdleConnections();
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      const deadline = setTimeout(() => {
        logger.warn('shutdown timeout reached; closing the remaining connections');
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await closed;
      clearInterval(sweeper);
      clearTimeout(deadline);
      await workers?.stop();
      await app.close();
      await queue.stop();
      await database.close();
    })());
  return { server, app, database, queue, workers, url, stop };
}
