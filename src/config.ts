/**
 * Configuration from environment variables, validated once at start-up. A bad value is reported
 * with the variable's name and what it accepts, so `make run` fails fast and clearly.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  /** Unset: embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** Postgres schema for every table; lets several deployments (or test runs) share a database. */
  databaseSchema: string;
  databasePoolSize: number;
  dataDir: string;
  logLevel: LogLevel;
  corsOrigins: string[];
  bodyLimitBytes: number;
  validateResponses: boolean;
  shutdownTimeoutMs: number;
  /** When set, this exact token is the admin key. */
  adminToken: string | undefined;
  /** Default per-key limit; 0 turns rate limiting off. */
  rateLimitPerMinute: number;
  /** When set, rate-limit counters live in Redis instead of Postgres. */
  redisUrl: string | undefined;
  /** Service processes sharing the port (node:cluster); more than 1 needs DATABASE_URL. */
  webConcurrency: number;
  /** Run the task workers inside the API process (`make run`); `make worker` runs them alone. */
  runWorkers: boolean;
  /** Job-fetching loops per queue and process. */
  workerConcurrency: number;
  /** How often expired jobs (a worker died) are found and retried, in seconds. */
  queueMaintenanceSeconds: number;
  /** Positions of each top 10 given to exploration (locations outside the model's favourites). */
  explorationSlots: number;
  /** Whether a newly trained model becomes active: always, if its hold-out AUC is not worse, or never. */
  autoActivate: AutoActivate;
  /** An OpenAI-compatible server (`.../v1`); unset: the built-in development model. */
  llmBaseUrl: string | undefined;
  llmApiKey: string | undefined;
  llmModel: string;
  /** How long a model may take to finish an answer. */
  llmTimeoutMs: number;
  /** Pause between the development model's tokens, so that streaming is visible. */
  devModelTokenDelayMs: number;
  /** Comment heartbeat on idle event streams. */
  sseHeartbeatMs: number;
}

export type AutoActivate = 'always' | 'if_better' | 'never';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value) || parsed < min || parsed > max) {
      this.problems.push(`${name}=${value}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name}=${value}: expected true or false`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.problems.push(`${name}=${value}: expected one of ${allowed.join(', ')}`);
    return fallback;
  }

  bytes(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(value);
    const units: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };
    const bytes = match ? Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1) : NaN;
    if (!Number.isSafeInteger(bytes) || bytes < 1024 || bytes > 64 * 1024 * 1024) {
      this.problems.push(`${name}=${value}: expected a size from 1kb to 64mb, such as 1mb or 512kb`);
      return fallback;
    }
    return bytes;
  }

  url(name: string, protocols: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return value;
    } catch {
      this.problems.push(`${name}: expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
  }

  identifier(name: string, fallback: string): string {
    const value = this.string(name, fallback);
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
      this.problems.push(`${name}=${value}: expected a lower-case SQL identifier such as public or portico`);
      return fallback;
    }
    return value;
  }
}

export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);
  const nodeEnv = read.string('NODE_ENV', 'development');
  const config: Config = {
    port: read.int('PORT', 8000, 0, 65535),
    host: read.string('HOST', '127.0.0.1'),
    databaseUrl: read.url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: read.identifier('DATABASE_SCHEMA', 'public'),
    databasePoolSize: read.int('DATABASE_POOL_SIZE', 10, 1, 200),
    dataDir: read.string('DATA_DIR', './.data'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    corsOrigins: (read.raw('CORS_ORIGINS') ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
    bodyLimitBytes: read.bytes('BODY_LIMIT', 1024 * 1024),
    validateResponses: read.bool('VALIDATE_RESPONSES', nodeEnv === 'test'),
    shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    adminToken: read.raw('ADMIN_TOKEN'),
    rateLimitPerMinute: read.int('RATE_LIMIT_PER_MINUTE', 600, 0, 100_000_000),
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    webConcurrency: read.int('WEB_CONCURRENCY', 1, 1, 64),
    runWorkers: read.bool('RUN_WORKERS', true),
    workerConcurrency: read.int('WORKER_CONCURRENCY', 2, 1, 64),
    queueMaintenanceSeconds: read.int('QUEUE_MAINTENANCE_SECONDS', 5, 1, 3600),
    explorationSlots: read.int('EXPLORATION_SLOTS', 2, 0, 9),
    autoActivate: read.oneOf('AUTO_ACTIVATE', ['always', 'if_better', 'never'] as const, 'if_better'),
    llmBaseUrl: read.url('LLM_BASE_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    llmApiKey: read.raw('LLM_API_KEY'),
    llmModel: read.string('LLM_MODEL', 'gpt-4o-mini'),
    llmTimeoutMs: read.int('LLM_TIMEOUT_MS', 60_000, 100, 3_600_000),
    devModelTokenDelayMs: read.int('DEV_MODEL_TOKEN_DELAY_MS', 20, 0, 10_000),
    sseHeartbeatMs: read.int('SSE_HEARTBEAT_MS', 15_000, 100, 600_000),
  };
  if (config.adminToken !== undefined && !/^[\x21-\x7E]{6,512}$/.test(config.adminToken)) {
    read.problems.push('ADMIN_TOKEN: expected 6 to 512 printable ASCII characters without spaces');
  }
  if (config.webConcurrency > 1 && config.databaseUrl === undefined) {
    read.problems.push(
      `WEB_CONCURRENCY=${config.webConcurrency}: several processes need a shared Postgres (set DATABASE_URL); the embedded database belongs to one process`,
    );
  }
  for (const origin of config.corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin)) {
      read.problems.push(`CORS_ORIGINS: "${origin}" is not an origin such as https://app.example.com`);
    }
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
