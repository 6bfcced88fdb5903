import cluster from 'node:cluster';
import pino from 'pino';
import { type Config, ConfigError, loadConfig } from './config.js';
import { startService, stopOnSignal } from './service.js';

/**
 * The service's entry point: configuration, listening, and graceful shutdown on SIGTERM/SIGINT.
 * With WEB_CONCURRENCY > 1 this process becomes a supervisor of that many service processes
 * sharing the port (node:cluster), and forwards the shutdown signal to them.
 */
function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

// Human messages go to stderr; stdout carries only JSON log lines.
const announce = (text: string) => process.stderr.write(`\n  ${text}\n\n`);

async function serve(config: Config): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  const service = await startService(config, logger, announce);
  logger.info({ url: service.url, engine: service.database.engine }, 'listening');
  if (cluster.isPrimary) announce(`Portico is serving on ${service.url}\n  API reference: ${service.url}/docs\n  Console:       ${service.url}/console (sign in with an API key)`);

  stopOnSignal(logger, 'shutting down', () => service.stop());
}

function supervise(config: Config): void {
  const logger = pino({ level: config.logLevel, base: { pid: process.pid, role: 'supervisor' } });
  let stopping = false;
  let ready = 0;
  const fork = () => cluster.fork().on('message', (message: unknown) => {
    if (message === 'listening' && ++ready === config.webConcurrency) {
      announce(
        `Portico is serving on http://${config.host}:${config.port} with ${config.webConcurrency} processes\n  API reference: http://${config.host}:${config.port}/docs\n  Console:       http://${config.host}:${config.port}/console (sign in with an API key)`,
      );
    }
  });
  for (let i = 0; i < config.webConcurrency; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, 'service process died; starting another');
    fork();
  });
  const onSignal = (signal: NodeJS.Signals) => {
    stopping = true;
    logger.info({ signal }, 'shutting down service processes');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

const config = readConfig();
if (cluster.isPrimary && config.webConcurrency > 1) {
  supervise(config);
} else {
  serve(config).then(
    () => process.send?.('listening'),
    (error: unknown) => {
      process.stderr.write(`Portico failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
