/**
 * Configuration from environment variables, validated once at start-up. A bad value is reported
 * with the variable's name and what it accepts, so `make run` fails fast and clearly.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

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
  /** How often jobs whose worker died (a missed heartbeat) are found and retried, in seconds. */
  queueMaintenanceSeconds: number;
  /** Positions of each top 10 given to exploration (locations outside the model's favourites). */
  explorationSlots: number;
  /** Each slot is used with probability min(1, this / labels the serving model learnt from). */
  explorationDecayLabels: number;
  /**
   * What a newly trained model does: becomes active always, if its hold-out AUC is not worse, or
   * never; or (`online`) if not worse, serves a share of tasks as challenger until the online test decides.
   */
  autoActivate: AutoActivate;
  /** Share of new inference tasks a challenger ranks. */
  challengerShare: number;
  /** Answers to a challenger's tasks after which an undecided test retires it. */
  challengerMaxFeedback: number;
  /** Start a training run after this many new labels; undefined: only when asked. */
  trainEveryLabels: number | undefined;
  /** An OpenAI-compatible server (`.../v1`); unset: the built-in development model. */
  llmBaseUrl: string | undefined;
  llmApiKey: string | undefined;
  llmModel: string;
  /** How long a model may take to finish an answer. */
  llmTimeoutMs: number;
  /** MODELS_FILE's public models and their upstreams, in order; undefined without the file. */
  gatewayModels: GatewayModelConfig[] | undefined;
  /** How long an upstream may take to send its first token before the next one is tried. */
  llmFirstTokenTimeoutMs: number;
  /** Consecutive failures after which an upstream is skipped (its circuit breaker opens). */
  breakerFailures: number;
  /** How long an open breaker skips its upstream before one trial request. */
  breakerCooldownMs: number;
  /** Pause between the development model's tokens, so that streaming is visible. */
  devModelTokenDelayMs: number;
  /** Comment heartbeat on idle event streams. */
  sseHeartbeatMs: number;
}

export interface UpstreamConfig {
  /** An OpenAI-compatible API root, without a trailing slash (`https://api.openai.com/v1`). */
  baseUrl: string;
  /** The model name the upstream knows. */
  model: string;
  /** The upstream's own key (from the variable `api_key_env` names); never the client's. */
  apiKey: string | undefined;
}

export interface GatewayModelConfig {
  /** The public name clients send as `model`. */
  name: string;
  upstreams: UpstreamConfig[];
}

export type AutoActivate = 'always' | 'if_better' | 'never' | 'online';

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

  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name}=${value}: expected a number from ${min} to ${max}`);
      return fallback;
    }
    return parsed;
  }

  /** An optional positive integer: undefined when unset. */
  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, min, min, max);
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
    explorationDecayLabels: read.int('EXPLORATION_DECAY_LABELS', 25, 0, 1_000_000),
    autoActivate: read.oneOf('AUTO_ACTIVATE', ['always', 'if_better', 'never', 'online'] as const, 'if_better'),
    challengerShare: read.number('CHALLENGER_SHARE', 0.1, 0, 1),
    challengerMaxFeedback: read.int('CHALLENGER_MAX_FEEDBACK', 2000, 30, 100_000_000),
    trainEveryLabels: read.optionalInt('TRAIN_EVERY_LABELS', 1, 100_000_000),
    llmBaseUrl: read.url('LLM_BASE_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    llmApiKey: read.raw('LLM_API_KEY'),
    llmModel: read.string('LLM_MODEL', 'gpt-4o-mini'),
    llmTimeoutMs: read.int('LLM_TIMEOUT_MS', 60_000, 100, 3_600_000),
    gatewayModels: undefined,
    llmFirstTokenTimeoutMs: read.int('LLM_FIRST_TOKEN_TIMEOUT_MS', 15_000, 50, 3_600_000),
    breakerFailures: read.int('BREAKER_FAILURES', 5, 1, 1000),
    breakerCooldownMs: read.int('BREAKER_COOLDOWN_MS', 30_000, 100, 3_600_000),
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
  const modelsFile = read.raw('MODELS_FILE');
  if (modelsFile !== undefined) config.gatewayModels = readModelsFile(modelsFile, env, read.problems);
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * MODELS_FILE (YAML or JSON): `{"models": [{"name", "upstreams": [{"base_url", "model", "api_key_env"}]}]}`.
 * Every problem is reported with its place in the file, so a bad file fails start-up clearly.
 */
function readModelsFile(path: string, env: Env, problems: string[]): GatewayModelConfig[] | undefined {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    problems.push(`MODELS_FILE=${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return undefined;
  }
  const at = (where: string, message: string) => problems.push(`MODELS_FILE${where ? ` ${where}` : ''}: ${message}`);
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  const unknownKeys = (value: Record<string, unknown>, allowed: string[], where: string) => {
    for (const key of Object.keys(value)) if (!allowed.includes(key)) at(where, `unknown field "${key}" (expected ${allowed.join(', ')})`);
  };
  if (!isObject(document) || !Array.isArray(document.models) || document.models.length === 0) {
    at('', 'expected an object with a non-empty "models" list');
    return undefined;
  }
  unknownKeys(document, ['models'], '');
  const names = new Set<string>();
  const models: GatewayModelConfig[] = [];
  document.models.forEach((entry: unknown, index) => {
    const where = `models[${index}]`;
    if (!isObject(entry)) return at(where, 'expected an object with "name" and "upstreams"');
    unknownKeys(entry, ['name', 'upstreams'], where);
    const name = entry.name;
    if (typeof name !== 'string' || !MODEL_NAME.test(name)) return at(`${where}.name`, 'expected 1 to 200 letters, digits or ._:/@- (starting with a letter or digit)');
    if (names.has(name)) return at(`${where}.name`, `"${name}" is listed twice`);
    names.add(name);
    if (!Array.isArray(entry.upstreams) || entry.upstreams.length === 0) return at(`${where}.upstreams`, 'expected a non-empty list');
    const upstreams: UpstreamConfig[] = [];
    entry.upstreams.forEach((upstream: unknown, position) => {
      const place = `${where}.upstreams[${position}]`;
      if (!isObject(upstream)) return at(place, 'expected an object with "base_url" and "model"');
      unknownKeys(upstream, ['base_url', 'model', 'api_key_env'], place);
      const baseUrl = upstream.base_url;
      let valid = typeof baseUrl === 'string';
      try {
        valid &&= ['http:', 'https:'].includes(new URL(String(baseUrl)).protocol);
      } catch {
        valid = false;
      }
      if (!valid) at(`${place}.base_url`, 'expected an http:// or https:// URL');
      if (typeof upstream.model !== 'string' || upstream.model.trim() === '' || upstream.model.length > 200) at(`${place}.model`, 'expected the upstream\'s model name');
      const keyEnv = upstream.api_key_env;
      let apiKey: string | undefined;
      if (keyEnv !== undefined) {
        if (typeof keyEnv !== 'string' || !ENV_NAME.test(keyEnv)) at(`${place}.api_key_env`, 'expected the name of an environment variable');
        else if ((apiKey = env[keyEnv]?.trim() || undefined) === undefined) at(`${place}.api_key_env`, `the variable ${keyEnv} is not set`);
      }
      if (valid && typeof upstream.model === 'string') upstreams.push({ baseUrl: String(baseUrl).replace(/\/+$/, ''), model: upstream.model, apiKey });
    });
    models.push({ name, upstreams });
  });
  return models;
}
