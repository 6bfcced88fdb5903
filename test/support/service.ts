import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import pg from 'pg';
import { inject } from 'vitest';
import { createClient, type PorticoClient } from '../../clients/typescript/src/index.js';
import type { NewKeyRequest } from '../../src/auth/api-key-service.js';
import type { Scope } from '../../src/auth/principal.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type RunningService, startService } from '../../src/service.js';
import type { WorkerHooks } from '../../src/workers.js';

export type Engine = 'pglite' | 'postgres';

/** The engines every database-backed test runs on: PGlite always, Postgres when it answers. */
export function engines(): Engine[] {
  return inject('postgresUrl') ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestKey {
  keyId: string;
  token: string;
  owner: string;
}

export type KeyOptions = Pick<NewKeyRequest, 'owner' | 'rateLimitPerMinute' | 'expiresAt' | 'models' | 'tokenBudget' | 'tokensPerMinute'>;

export interface TestService {
  engine: Engine;
  url: string;
  config: Config;
  service: RunningService;
  adminToken: string;
  client(token?: string): PorticoClient;
  createKey(scopes: readonly Scope[], options?: KeyOptions): Promise<TestKey>;
  stop(): Promise<void>;
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** Config for one test service on `engine`: an ephemeral port and a database of its own. */
export function testConfig(engine: Engine, env: Record<string, string> = {}): Config {
  const postgresUrl = inject('postgresUrl');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  return loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    ...(engine === 'postgres' && postgresUrl ? { DATABASE_URL: postgresUrl, DATABASE_SCHEMA: schema } : {}),
    ...env,
  });
}

/** Drops a Postgres test schema and its pg-boss schema (nothing to do on PGlite). */
export async function dropSchema(config: Config): Promise<void> {
  if (!config.databaseUrl || config.databaseSchema === 'public') return;
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${config.databaseSchema}_pgboss CASCADE`);
    await client.query(`DROP SCHEMA IF EXISTS ${config.databaseSchema} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface TestServiceOptions {
  env?: Record<string, string>;
  /** Reuse a config (and so its database) from an earlier service. */
  config?: Config;
  logger?: Logger;
  /** Sees what start-up prints for people (the bootstrap admin token). */
  onAnnounce?: (text: string) => void;
  /** Keep the database when stopping, to start another service on it. */
  keepDatabase?: boolean;
  hooks?: WorkerHooks;
}

/** Boots the real service (database, migrations, app, HTTP listener) for a test file. */
export async function startTestService(engine: Engine, options: TestServiceOptions = {}): Promise<TestService> {
  const config = options.config ?? testConfig(engine, options.env);
  let adminToken = config.adminToken ?? '';
  const service = await startService(
    config,
    options.logger ?? testLogger(),
    (text) => {
      options.onAnnounce?.(text);
      adminToken = /ptk_[A-Za-z0-9_-]+/.exec(text)?.[0] ?? adminToken;
    },
    options.hooks,
  );
  const client = (token?: string) => createClient({ baseUrl: service.url, ...(token ? { token } : {}) });
  return {
    engine,
    url: service.url,
    config,
    service,
    adminToken,
    client,
    async createKey(scopes, options = {}) {
      const { row, token } = await service.app.keys.create(
        { name: `test ${scopes.join(' ')}`, scopes, ...options },
        'api',
      );
      return { keyId: row.id, token, owner: row.owner };
    },
    async stop() {
      await service.stop();
      if (!options.keepDatabase) await dropSchema(config);
    },
  };
}
