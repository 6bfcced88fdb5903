import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Metrics } from './metrics.js';

/** An inbound X-Request-ID is kept only if it is short and safe to echo into headers and logs. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@=+/-]{1,128}$/;

function operationIdOf(req: IncomingMessage): string {
  const openapi = (req as { openapi?: { schema?: { operationId?: string } } }).openapi;
  return openapi?.schema?.operationId ?? 'unmatched';
}

/**
 * Wraps the express app with what every request needs before routing: its id (kept from a sane
 * inbound X-Request-ID, else generated, echoed as a header), X-Process-Time, one JSON log line when
 * it ends, and request metrics. It sits outside express because pino-http costs far less there.
 */
export function withRequestContext(app: RequestListener, logger: Logger, metrics: Metrics): RequestListener {
  const httpLogger = pinoHttp({
    logger,
    quietReqLogger: true,
    genReqId(req, res) {
      const inbound = req.headers['x-request-id'];
      const id = typeof inbound === 'string' && SANE_REQUEST_ID.test(inbound) ? inbound : randomUUID();
      res.setHeader('X-Request-ID', id);
      return id;
    },
    customAttributeKeys: { reqId: 'request_id', responseTime: 'duration_ms' },
    // Only these fields: headers would put bearer tokens into the logs.
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    // 503 is an expected answer (database away, shutting down), not a bug.
    customLogLevel: (_req, res) => (res.statusCode >= 500 && res.statusCode !== 503 ? 'error' : res.statusCode === 503 ? 'warn' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${operationIdOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${operationIdOf(req)} ${res.statusCode}`,
    customSuccessObject: (req, _res, value: object) => ({ ...value, operation_id: operationIdOf(req) }),
    customErrorObject: (req, _res, _error, value: object) => ({ ...value, operation_id: operationIdOf(req) }),
  });

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const elapsedSeconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    httpLogger(req, res);
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
      if (!this.headersSent) this.setHeader('X-Process-Time', elapsedSeconds().toFixed(6));
      return writeHead.apply(this, args);
    } as typeof writeHead;
    res.once('close', () => metrics.observe(operationIdOf(req), res.statusCode, elapsedSeconds()));
    app(req, res);
  };
}
