import { setMaxListeners } from 'node:events';
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import compression from 'compression';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { ApiKeyService } from './auth/api-key-service.js';
import { ApiKeyVerifier } from './auth/api-key-verifier.js';
import { RequestRateLimiter, SharedWindowStore, redisStore } from './auth/rate-limit.js';
import type { Config } from './config.js';
import { ApiKeyRepository } from './db/api-keys.js';
import type { Database } from './db/database.js';
import { RateLimitRepository } from './db/rate-limits.js';
import { EventBatcher } from './db/event-batcher.js';
import { EVENT_CHANGES, EventRepository } from './db/events.js';
import { LocationRepository } from './db/locations.js';
import { ResultRepository } from './db/results.js';
import { TaskEventRepository } from './db/task-events.js';
import { TASK_EVENTS, TaskRepository } from './db/tasks.js';
import { UserRepository } from './db/users.js';
import { apiKeyHandlers } from './handlers/api-keys.js';
import { contentHandlers, IMPORT_MAX_BYTES } from './handlers/content.js';
import { eventHandlers } from './handlers/events.js';
import { inferenceHandlers } from './handlers/inference.js';
import { modelHandlers } from './handlers/models.js';
import { toModelOnline } from './presenters/models.js';
import { LearningLoop } from './recommender/learning-loop.js';
import { trainingHandlers } from './handlers/training.js';
import { ModelRepository } from './db/models.js';
import { ChatService } from './chat/chat-service.js';
import { PostgresTokenCounter, RedisTokenCounter, UsageLedger } from './gateway/accounting.js';
import { Gateway } from './gateway/gateway.js';
import { routesFrom } from './gateway/routes.js';
import { UsageRepository } from './db/usage.js';
import { KeyUsageReader } from './gateway/key-usage.js';
import { gatewayHandlers } from './handlers/gateway.js';
import { usageHandlers } from './handlers/usage.js';
import { chatSocket } from './http/chat-socket.js';
import { ConversationRepository } from './db/conversations.js';
import { chatHandlers } from './handlers/chat.js';
import { SchemaValidator } from './http/schemas.js';
import { BodyBounds } from './http/body-bounds.js';
import { ParameterSyntax } from './http/parameter-syntax.js';
import { readJsonBody } from './http/json-body.js';
import { systemHandlers } from './handlers/system.js';
import { dispatchOperations } from './http/dispatch.js';
import { redocAssets } from './http/docs.js';
import { consoleAssets, consolePage, consoleSecurity } from './http/console.js';
import { StatsRepository } from './db/stats.js';
import { statsHandlers } from './handlers/stats.js';
import { STORABLE_FORMATS } from './http/formats.js';
import { Metrics } from './http/metrics.js';
import type { Handlers } from './http/operations.js';
import { errorAnswer, isServerFault, toProblem } from './http/errors.js';
import { authFailureOf, bearerSecurityHandler } from './http/security.js';
import { requestIdOf, requestLogOf, withRequestContext } from './http/request-context.js';
import { BUNDLED_SPEC_PATH, loadSpec } from './http/spec.js';
import type { TaskQueue } from './queue/task-queue.js';
import { ChangeFeed } from './streams/follow.js';
import { LiveEventHub } from './streams/live-events.js';

export interface AppDependencies {
  config: Config;
  database: Database;
  queue: TaskQueue;
  logger: Logger;
}

export interface PorticoApp {
  /** The request listener to give to `http.createServer`. */
  listener: RequestListener;
  /** The server's 'upgrade' listener (WebSockets: /ws/chat). */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>;
  express: Express;
  metrics: Metrics;
  keys: ApiKeyService;
  /** Tells long-lived responses (streams) to finish; called first on shutdown. */
  beginShutdown(): void;
  /** Releases what the app holds (caches, listeners, counters); the database stays open. */
  close(): Promise<void>;
}

/** Builds the service: config and dependencies in, app out. Listening is the caller's job. */
export async function createApp({ config, database, queue, logger }: AppDependencies): Promise<PorticoApp> {
  const spec = loadSpec();
  const models = new ModelRepository(database);
  const metrics = new Metrics(
    () => database.poolStats(),
    async () => (await models.onlineByVersion()).map((row) => ({ version: row.version, ...toModelOnline(row) })),
  );
  const shutdown = new AbortController();
  // Every open stream and socket listens for shutdown; thousands at once is normal, not a leak.
  setMaxListeners(0, shutdown.signal);

  const keyRepository = new ApiKeyRepository(database);
  const keys = new ApiKeyService(keyRepository);
  const verifier = new ApiKeyVerifier(keyRepository, database.notifications, logger);
  await verifier.start();
  const redis = config.redisUrl === undefined ? undefined : await redisStore(config.redisUrl, logger);
  const store = redis?.store ?? new SharedWindowStore(new RateLimitRepository(database), logger);
  const rateLimiter = new RequestRateLimiter({ defaultPerMinute: config.rateLimitPerMinute, store });

  const eventRepository = new EventRepository(database);
  // PGlite is one connection: more than one INSERT in flight would only queue inside it.
  const events = new EventBatcher(eventRepository, { maxBatch: 500, maxInFlight: database.engine === 'pglite' ? 1 : 3 });

  const tasks = new TaskRepository(database);
  const taskEvents = new TaskEventRepository(database);
  const taskFeed = new ChangeFeed(database.notifications, TASK_EVENTS);
  const liveEvents = new LiveEventHub(eventRepository, database.notifications, EVENT_CHANGES);
  await taskFeed.start();
  await liveEvents.start();
  const results = new ResultRepository(database);
  const locations = new LocationRepository(database);

  const conversations = new ConversationRepository(database);
  const usage = new UsageRepository(database);
  const tokenCounter = config.redisUrl === undefined ? new PostgresTokenCounter(usage) : await RedisTokenCounter.connect(config.redisUrl, usage, logger);
  const gateway = new Gateway({
    routes: routesFrom(config),
    ledger: new UsageLedger(usage, tokenCounter, events),
    observer: metrics.upstreams,
    firstTokenTimeoutMs: config.llmFirstTokenTimeoutMs,
    timeoutMs: config.llmTimeoutMs,
    breakerFailures: config.breakerFailures,
    breakerCooldownMs: config.breakerCooldownMs,
    log: logger,
  });
  const chat = new ChatService(conversations, gateway, logger);

  const handlers: Handlers = {
    ...systemHandlers({ database, spec, metrics, startedAt: Date.now(), consolePage: consolePage() }),
    ...statsHandlers({ stats: new StatsRepository(database), answers: metrics.answers }),
    ...apiKeyHandlers(keys, new KeyUsageReader(usage)),
    ...eventHandlers(events, eventRepository, liveEvents),
    ...inferenceHandlers({
      tasks,
      taskEvents,
      taskFeed,
      results,
      locations,
      queue,
      events,
      learning: new LearningLoop({
        models,
        tasks,
        enqueueTraining: queue.enqueue('training'),
        log: logger,
        settings: { challengerMaxFeedback: config.challengerMaxFeedback, trainEveryLabels: config.trainEveryLabels },
      }),
    }),
    ...contentHandlers({ locations, users: new UserRepository(database), tasks, results }),
    ...trainingHandlers({ tasks, taskEvents, taskFeed, results, models, queue, events }),
    ...modelHandlers(models),
    ...chatHandlers(chat, conversations),
    ...gatewayHandlers(gateway),
    ...usageHandlers(usage),
  };

  const bodyBounds = new BodyBounds(spec);
  const app = express();
  app.disable('x-powered-by');
  // ETags would hash every JSON body; clients of this API poll by id, not by revalidation.
  app.set('etag', false);

  app.use(
    helmet({
      contentSecurityPolicy: {
        // Redoc (at /docs) styles itself inline and runs its search index in a blob: worker.
        directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'worker-src': ["'self'", 'blob:'], 'img-src': ["'self'", 'data:'] },
      },
    }),
  );
  app.use(consoleSecurity());
  if (config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
        exposedHeaders: ['X-Request-ID', 'X-Process-Time', 'Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed'],
        maxAge: 600,
      }),
    );
  }
  const compress = compression({
    threshold: 1024,
    // Never buffer a stream: every server-sent event must leave at once.
    filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream') && compression.filter(req, res),
  });
  // Wrapping the response costs even when nothing is compressed; skip it when the client cannot decode.
  app.use((req, res, next) => (req.headers['accept-encoding'] ? compress(req, res, next) : next()));
  app.use(redocAssets());
  app.use(consoleAssets());
  // FastAPI reads a body sent without Content-Type as JSON, and the seeds' Python clients rely on it.
  app.use((req, _res, next) => {
    if (req.headers['content-type'] === undefined && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)) {
      req.headers['content-type'] = 'application/json';
    }
    next();
  });
  // HEAD is GET without the body (RFC 9110): the spec's GET operations answer it, and Node already
  // omits the body of a response to a request that arrived as HEAD.
  app.use((req, _res, next) => {
    if (req.method === 'HEAD') req.method = 'GET';
    next();
  });
  app.use(readJsonBody(config.bodyLimitBytes));
  const validator = OpenApiValidator.middleware({
    // The validator reads (and amends) its own copy of the bundled spec.
    apiSpec: BUNDLED_SPEC_PATH,
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, removeAdditional: false, allErrors: true },
    validateResponses: config.validateResponses ? { removeAdditional: false } : false,
    validateSecurity: { handlers: { bearerAuth: bearerSecurityHandler(verifier, rateLimiter) } },
    validateFormats: true,
    ajvFormats: { mode: 'full' },
    formats: STORABLE_FORMATS,
    ignoreUndocumented: false,
    fileUploader: { limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10 } },
  });
  // A JSON body is parsed, under its operation's bounds, once the operation is matched and the
  // caller authorized: before the schema validator (ajv) could spend time on a body far outside them.
  // Numeric parameters are checked as written there too, before the validator reads them as numbers.
  const validation = validator.findIndex((middleware) => middleware.name === 'requestMiddleware');
  if (validation === -1) throw new Error('express-openapi-validator no longer has a requestMiddleware to check body bounds before');
  validator.splice(validation, 0, new ParameterSyntax(spec).middleware(), bodyBounds.middleware());
  app.use(validator);
  app.use(dispatchOperations(handlers, { logger, shutdownSignal: shutdown.signal, heartbeatMs: config.sseHeartbeatMs }));

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const problem = toProblem(authFailureOf(req) ?? error);
    if (isServerFault(problem)) requestLogOf(req, logger).error({ err: error }, 'request failed unexpectedly');
    if (res.headersSent) {
      res.end();
      return;
    }
    const answer = errorAnswer(problem, req.originalUrl, requestIdOf(req));
    res.status(answer.status).set(answer.headers).type(answer.contentType).json(answer.body);
  };
  app.use(errorHandler);

  return {
    listener: withRequestContext(app, logger, metrics),
    upgrade: chatSocket({ verifier, chat, validator: new SchemaValidator(spec), bodyBounds, log: logger, shutdown: shutdown.signal }),
    express: app,
    metrics,
    keys,
    beginShutdown: () => shutdown.abort(),
    async close() {
      shutdown.abort();
      await taskFeed.stop();
      await liveEvents.stop();
      await verifier.stop();
      await store.shutdown?.();
      await redis?.close();
      await tokenCounter.close();
    },
  };
}
