import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../project.js';

/** The parts of an OpenAPI document the service reads itself. */
export interface OpenApiOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  tags?: string[];
}
export type OpenApiPathItem = Partial<Record<HttpMethod, OpenApiOperation>>;
export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string };
  tags?: { name: string }[];
  security?: Record<string, string[]>[];
  paths: Record<string, OpenApiPathItem>;
  components: Record<string, unknown>;
};

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The bundled spec (`make generate` writes it): what requests are validated against and /openapi.* serve. */
export interface LoadedSpec {
  document: OpenApiDocument;
  yaml: string;
  json: string;
  operations: Map<string, OpenApiOperation>;
}

export function loadSpec(): LoadedSpec {
  const yaml = readFileSync(join(projectRoot, 'src', 'generated', 'openapi.yaml'), 'utf8');
  const document = parse(yaml) as OpenApiDocument;
  const operations = new Map<string, OpenApiOperation>();
  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (operation) operations.set(operation.operationId, operation);
    }
  }
  return { document, yaml, json: JSON.stringify(document), operations };
}
