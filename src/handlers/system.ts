import type { Database } from '../db/database.js';
import { docsPage } from '../http/docs.js';
import type { Metrics } from '../http/metrics.js';
import type { Handlers, Reply } from '../http/operations.js';
import { DomainError } from '../domain/errors.js';
import type { LoadedSpec } from '../http/spec.js';
import { packageVersion } from '../project.js';

export interface SystemDependencies {
  database: Database;
  spec: LoadedSpec;
  metrics: Metrics;
  startedAt: number;
  /** The built console page; undefined when this installation has none. */
  consolePage: () => Promise<string | undefined>;
}

export function systemHandlers({ database, spec, metrics, startedAt, consolePage }: SystemDependencies) {
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
        throw DomainError.unavailable(`The database is not answering: ${(error as Error).message}`);
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

    getConsole: async (): Promise<Reply<'getConsole'>> => {
      const html = await consolePage();
      if (html === undefined) throw DomainError.notFound('The console is not built in this installation; run `make build` and reload.');
      return { status: 200, headers: { 'Cache-Control': 'no-cache' }, body: html };
    },
  } satisfies Handlers;
}
