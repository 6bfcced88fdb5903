import type { Database } from '../db/database.js';
import { docsPage } from '../http/docs.js';
import type { Metrics } from '../http/metrics.js';
import type { Handlers, Reply } from '../http/operations.js';
import { ProblemError } from '../http/problem.js';
import type { LoadedSpec } from '../http/spec.js';
import { packageVersion } from '../project.js';

export interface SystemDependencies {
  database: Database;
  spec: LoadedSpec;
  metrics: Metrics;
  startedAt: number;
}

export function systemHandlers({ database, spec, metrics, startedAt }: SystemDependencies) {
  const page = docsPage(spec.document.info.title);
  return {
    getHealth: async (): Promise<Reply<'getHealth'>> => ({
      status: 200,
      body: { status: 'healthy', version: packageVersion, uptime_seconds: (Date.now() - startedAt) / 1000 },
    }),

    getReadiness: async (): Promise<Reply<'getReadiness'>> => {
      let latency: number;
      try {
        latency = await database.ping();
      } catch (error) {
        throw ProblemError.unavailable(`The database is not answering: ${(error as Error).message}`, 5);
      }
      return {
        status: 200,
        body: { status: 'ready', database: { engine: database.engine, latency_ms: Math.round(latency * 100) / 100 } },
      };
    },

    getMetrics: async (): Promise<Reply<'getMetrics'>> => ({ status: 200, body: await metrics.registry.metrics() }),

    getOpenApiJson: async (): Promise<Reply<'getOpenApiJson'>> => ({ status: 200, body: spec.document }),

    getOpenApiYaml: async (): Promise<Reply<'getOpenApiYaml'>> => ({ status: 200, body: spec.yaml }),

    getDocs: async (): Promise<Reply<'getDocs'>> => ({ status: 200, body: page }),
  } satisfies Handlers;
}
