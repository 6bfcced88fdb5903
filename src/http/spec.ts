import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import { parse } from 'yaml';
import { projectRoot } from '../project.js';

/** The bundled spec's document: OpenAPI 3.1 with paths and components (every operation has an operationId). */
export type OpenApiDocument = OpenAPIV3_1.Document & { paths: OpenAPIV3_1.PathsObject; components: OpenAPIV3_1.ComponentsObject };
export type OpenApiOperation = OpenAPIV3_1.OperationObject & { operationId: string };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Where `make generate` writes the bundled spec: what requests are validated against and /openapi.* serve. */
export const BUNDLED_SPEC_PATH = join(projectRoot, 'src', 'generated', 'openapi.yaml');

/** An operation and where it sits in the document. */
export interface SpecOperation {
  path: string;
  method: HttpMethod;
  operation: OpenApiOperation;
}

export interface LoadedSpec {
  document: OpenApiDocument;
  yaml: string;
  json: string;
  /** By operationId. */
  operations: Map<string, SpecOperation>;
}

/** A JSON object (not an array): what a spec node, a schema or a parameter, is when it is one. */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The bundled file is generated and linted; this only guards against reading something else. */
function isOpenApi31(value: unknown): value is OpenApiDocument {
  return isObject(value) && typeof value.openapi === 'string' && value.openapi.startsWith('3.1.') && isObject(value.info) && isObject(value.paths) && isObject(value.components);
}

export function isReference(value: object): value is OpenAPIV3_1.ReferenceObject {
  return '$ref' in value;
}

/** `node` with its local `$ref`s followed (`#/components/…`, JSON Pointer escapes undone); undefined where one leads nowhere. */
export function resolveRef(document: unknown, node: unknown): unknown {
  let current = node;
  while (isObject(current) && typeof current.$ref === 'string') {
    current = current.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((parent, key) => (isObject(parent) ? parent[key.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined), document);
  }
  return current;
}

export function loadSpec(): LoadedSpec {
  const yaml = readFileSync(BUNDLED_SPEC_PATH, 'utf8');
  const document: unknown = parse(yaml);
  if (!isOpenApi31(document)) throw new Error(`${BUNDLED_SPEC_PATH} is not an OpenAPI 3.1 document; run make generate`);
  const operations = new Map<string, SpecOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item?.[method];
      if (!operation) continue;
      const { operationId } = operation;
      if (operationId === undefined) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      operations.set(operationId, { path, method, operation: { ...operation, operationId } });
    }
  }
  return { document, yaml, json: JSON.stringify(document), operations };
}
