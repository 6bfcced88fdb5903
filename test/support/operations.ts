import type { OpenApiOperation } from '../../src/http/spec.js';
import { spec } from './contract.js';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  example?: unknown;
  schema?: { example?: unknown; examples?: unknown[]; default?: unknown };
}
interface MediaType {
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
export interface SpecOperation {
  operationId: string;
  method: string;
  /** The spec path, with `{param}` templates. */
  path: string;
  /** Scopes the spec requires; `undefined` for public operations. */
  scopes: string[] | undefined;
  parameters: Parameter[];
  requestContentTypes: string[];
  /** A request built from the spec's examples. */
  example: { url: string; body: string | undefined; contentType: string | undefined };
}

function resolveRef<T>(node: T | { $ref: string }): T {
  if (node && typeof node === 'object' && '$ref' in node) {
    const path = node.$ref.replace(/^#\//, '').split('/');
    let current: unknown = spec.document;
    for (const segment of path) current = (current as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
    return current as T;
  }
  return node as T;
}

function exampleOf(parameter: Parameter): unknown {
  return parameter.example ?? parameter.schema?.example ?? parameter.schema?.examples?.[0] ?? parameter.schema?.default ?? 'x';
}

function mediaExample(media: MediaType | undefined): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  return Object.values(media.examples ?? {})[0]?.value;
}

/** Every operation of the spec, with a request built from its examples. */
export function specOperations(): SpecOperation[] {
  return [...spec.operations.values()].map(({ path, method, operation: declared }) => {
    const operation = declared as Omit<OpenApiOperation, 'parameters' | 'requestBody'> & {
      parameters?: (Parameter | { $ref: string })[];
      requestBody?: { content: Record<string, MediaType> };
    };
    const parameters = (operation.parameters ?? []).map((parameter) => resolveRef<Parameter>(parameter));
    const security = operation.security ?? spec.document.security ?? [];
    const scopes = security.length === 0 ? undefined : (security[0]?.bearerAuth ?? []);
    let url = path;
    for (const parameter of parameters.filter((p) => p.in === 'path')) {
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(exampleOf(parameter))));
    }
    const contentTypes = Object.keys(operation.requestBody?.content ?? {});
    const contentType = contentTypes[0];
    const bodyExample = contentType ? mediaExample(operation.requestBody?.content[contentType]) : undefined;
    return {
      operationId: operation.operationId,
      method,
      path,
      scopes,
      parameters,
      requestContentTypes: contentTypes,
      example: {
        url,
        body: bodyExample === undefined ? undefined : typeof bodyExample === 'string' ? bodyExample : JSON.stringify(bodyExample),
        contentType,
      },
    };
  });
}
