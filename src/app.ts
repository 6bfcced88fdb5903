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
import { authFailureOf, bearerSecurityHandler } from './auth/bearer.js';
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
import { trainingHandlers } from './handlers/training.js';
import { ModelRepository } from './db/models.js';
import { ChatService } from './chat/chat-service.js';
import { DevelopmentProvider } from './chat/development-provider.js';
import { OpenAiProvider } from './chat/openai-provider.js';
import { chatSocket } from './chat/websocket.js';
import { ConversationRepository } from './db/conversations.js';
import { chatHandlers } from './handlers/chat.js';
import { SchemaValidator } from './http/schemas.js';
import { systemHandlers } from './handlers/system.js';
import { dispatchOperations } from './http/dispatch.js';
import { redocAssets } from './http/docs.js';
import { STORABLE_FORMATS } from './http/formats.js';
import { Metrics } from './http/metrics.js';
import type { Handlers } from './http/operations.js';
import { problemResponse, toProblemError } from './http/problem.js';
import { requestIdOf, requestLogOf, withRequestContext } from './http/request-context.js';
import { loadSpec } from './http/spec.js';
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
  const metrics = new Metrics(() => database.poolStats());
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
  const models = new ModelRepository(database);

  const conversations = new ConversationRepository(database);
  const provider = config.llmBaseUrl
    ? new OpenAiProvider({ baseUrl: config.llmBaseUrl, apiKey: config.llmApiKey, defaultModel: config.llmModel, timeoutMs: config.llmTimeoutMs })
    : new DevelopmentProvider(config.devModelTokenDelayMs);
  const chat = new ChatService(conversations, provider, logger);

  const handlers: Handlers = {
    ...systemHandlers({ database, spec, metrics, startedAt: Date.now() }),
    ...apiKeyHandlers(keys),
    ...eventHandlers(events, eventRepository, liveEvents),
    ...inferenceHandlers({ tasks, taskEvents, taskFeed, results, locations, queue, events }),
    ...contentHandlers({ locations, users: new UserRepository(database), tasks, results }),
    ...trainingHandlers({ tasks, taskEvents, taskFeed, results, models, queue, events }),
    ...modelHandlers(models),
    ...chatHandlers(chat, conversations),
  };

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
  // FastAPI reads a body sent without Content-Type as JSON, and the seeds' Python clients rely on it.
  app.use((req, _res, next) => {
    if (req.headers['content-type'] === undefined && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0)) {
      req.headers['content-type'] = 'application/json';
    }
    next();
  });
  app.use(express.json({ limit: config.bodyLimitBytes, type: ['application/json', 'application/*+json'] }));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(spec.document) as unknown as Parameters<typeof OpenApiValidator.middleware>[0]['apiSpec'],
      validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, removeAdditional: false, allErrors: true },
      validateResponses: config.validateResponses ? { removeAdditional: false } : false,
      validateSecurity: { handlers: { bearerAuth: bearerSecurityHandler(verifier, rateLimiter) } },
      validateFormats: true,
      ajvFormats: { mode: 'full' },
      formats: STORABLE_FORMATS,
      ignoreUndocumented: false,
      fileUploader: { limits: { fileSize: IMPORT_MAX_BYTES, files: 1, fields: 10 } },
    }),
  );
  app.use(dispatchOperations(handlers, { logger, shutdownSignal: shutdown.signal, heartbeatMs: config.sseHeartbeatMs }));

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const problem = toProblemError(authFailureOf(req) ?? error);
    if (problem.status >= 500 && problem.status !== 503) {
      requestLogOf(req, logger).error({ err: error }, 'request failed unexpectedly');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const { status, headers, body } = problemResponse(problem, req, requestIdOf(req));
    res.status(status).set(headers).type('application/problem+json').json(body);
  };
  app.use(errorHandler);

  return {
    listener: withRequestContext(app, logger, metrics),
    upgrade: chatSocket({ verifier, chat, validator: new SchemaValidator(spec), log: logger, shutdown: shutdown.signal }),
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
    },
  };
}
