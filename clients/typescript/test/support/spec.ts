/**
 * The bundled spec (src/generated/openapi.yaml, what the service serves) as test data: its
 * operations, their examples, and Ajv validators for any schema in it, so that mocks built from
 * the examples are checked against the contract they claim to follow.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import type { components } from '../../src/index.js';

export type Schemas = components['schemas'];
export type SchemaName = keyof Schemas;
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

interface Ref {
  $ref: string;
}
export interface MediaType {
  schema?: unknown;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
  /** SSE streams: the JSON schema of each `event:` name's `data:` ("message" for frames without one). */
  'x-sse-events'?: Record<string, unknown>;
}
export interface ResponseObject {
  headers?: Record<string, { example?: unknown } | Ref>;
  content?: Record<string, MediaType>;
}
export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  example?: unknown;
}
interface OperationObject {
  operationId: string;
  summary: string;
  tags: string[];
  parameters?: (Parameter | Ref)[];
  requestBody?: { content: Record<string, MediaType> } | Ref;
  responses: Record<string, ResponseObject | Ref>;
}
interface Document {
  tags: { name: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, ResponseObject> };
}

const specPath = new URL('../../../../src/generated/openapi.yaml', import.meta.url);
// The spec is linted (`make lint`) and bundled by redocly: its shape is the OpenAPI one.
const document = parse(readFileSync(specPath, 'utf8')) as Document;

function isRef(node: object): node is Ref {
  return '$ref' in node && typeof node.$ref === 'string';
}

/** JSON Pointer segment encoding (RFC 6901), then URI-fragment encoding, as Ajv expects. */
function pointer(segments: (string | number)[]): string {
  return segments.map((s) => `/${encodeURIComponent(String(s).replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');
}

function lookup(ref: string): unknown {
  let node: unknown = document;
  for (const raw of ref.replace(/^#\//, '').split('/')) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    node = typeof node === 'object' && node !== null ? Reflect.get(node, segment) : undefined;
  }
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return node;
}

/** A local `$ref` replaced by what it points to (the bundle only has local ones). */
function deref<T extends object>(node: T | Ref): T {
  // Same-document refs point to objects of the type the OpenAPI schema says is there.
  return isRef(node) ? (lookup(node.$ref) as T) : node;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
// The whole document is one schema resource, so any JSON pointer into it can be validated against.
ajv.addSchema({ ...document, $id: 'spec' }, 'spec');

function validator<T = unknown>(segments: (string | number)[]): ValidateFunction<T> {
  const validate = ajv.getSchema<T>(`spec#${pointer(segments)}`);
  if (!validate) throw new Error(`no schema at ${pointer(segments)}`);
  return validate;
}

function describeErrors(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`);
}

/** The errors of `value` against the schema at these JSON pointer segments of the spec, or []. */
export function errorsAt(segments: (string | number)[], value: unknown): string[] {
  const validate = validator(segments);
  return validate(value) ? [] : describeErrors(validate);
}

/** `value` as a component schema's type, after Ajv has checked it against that schema. */
export function asSchema<Name extends SchemaName>(name: Name, value: unknown): Schemas[Name] {
  const validate = validator<Schemas[Name]>(['components', 'schemas', name]);
  if (validate(value)) return value;
  throw new Error(`not a valid ${name}: ${describeErrors(validate).join('; ')}`);
}

export function mediaExample(media: MediaType | undefined): unknown {
  if (media?.example !== undefined) return media.example;
  return Object.values(media?.examples ?? {})[0]?.value;
}

export interface SpecResponse {
  status: number;
  /** JSON pointer segments of the response object, for validators. */
  at: (string | number)[];
  headers: Record<string, string>;
  contentType: string | undefined;
  media: MediaType | undefined;
}

export interface SpecOperation {
  operationId: string;
  summary: string;
  tags: string[];
  method: HttpMethod;
  /** The spec's path, with `{param}` templates. */
  path: string;
  parameters: Parameter[];
  /** The request body's media type and its JSON pointer, when the operation takes a body. */
  requestBody: { contentType: string; media: MediaType; at: (string | number)[] } | undefined;
  /** The first 2xx answer: what the mocks send. */
  success: SpecResponse;
}

function specResponse(at: (string | number)[], status: string, node: ResponseObject | Ref): SpecResponse {
  // A $ref'd response is validated where it is defined: keep pointers pointing at the real object.
  const target = isRef(node) ? node.$ref.replace(/^#\//, '').split('/') : [...at, status];
  const response = deref(node);
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const example = deref(header).example;
    if (example !== undefined) headers[name] = String(example);
  }
  const contentType = Object.keys(response.content ?? {})[0];
  return { status: Number(status), at: target, headers, contentType, media: contentType ? response.content?.[contentType] : undefined };
}

export const operations: SpecOperation[] = Object.entries(document.paths).flatMap(([path, item]) =>
  HTTP_METHODS.flatMap((method) => {
    const operation = item[method];
    if (!operation) return [];
    const at = ['paths', path, method];
    const success = Object.entries(operation.responses).find(([status]) => status.startsWith('2'));
    if (!success) throw new Error(`${operation.operationId} has no 2xx answer`);
    const body = operation.requestBody ? deref(operation.requestBody) : undefined;
    const bodyType = body ? Object.keys(body.content)[0] : undefined;
    const bodyMedia = bodyType ? body?.content[bodyType] : undefined;
    return [
      {
        operationId: operation.operationId,
        summary: operation.summary,
        tags: operation.tags,
        method,
        path,
        parameters: (operation.parameters ?? []).map((parameter) => deref(parameter)),
        requestBody: bodyType && bodyMedia ? { contentType: bodyType, media: bodyMedia, at: [...at, 'requestBody', 'content', bodyType] } : undefined,
        success: specResponse([...at, 'responses'], ...success),
      },
    ];
  }),
);

export function operation(operationId: string): SpecOperation {
  const found = operations.find((candidate) => candidate.operationId === operationId);
  if (!found) throw new Error(`no operation ${operationId}`);
  return found;
}

/** The JSON example of an operation's success answer, checked against the component schema. */
export function successExample<Name extends SchemaName>(operationId: string, name: Name): Schemas[Name] {
  return asSchema(name, mediaExample(operation(operationId).success.media));
}

/** A component schema's own example, checked against the schema. */
export function schemaExample<Name extends SchemaName>(name: Name): Schemas[Name] {
  const schema = document.components.schemas[name];
  const example = typeof schema === 'object' && schema !== null ? Reflect.get(schema, 'example') : undefined;
  return asSchema(name, example);
}

/** The spec's problem example for an error status (components/responses), as a Problem. */
export function problemExample(status: number): Schemas['Problem'] {
  for (const response of Object.values(document.components.responses)) {
    const example = mediaExample(response.content?.['application/problem+json']);
    if (typeof example === 'object' && example !== null && Reflect.get(example, 'status') === status) return asSchema('Problem', example);
  }
  throw new Error(`no problem example for ${status}`);
}

/** Every problem example of the shared error answers, by name, with their JSON pointers. */
export function problemExamples(): { name: string; at: (string | number)[]; example: unknown }[] {
  return Object.entries(document.components.responses).flatMap(([name, response]) => {
    const media = response.content?.['application/problem+json'];
    const at = ['components', 'responses', name, 'content', 'application/problem+json', 'schema'];
    const named = Object.entries(media?.examples ?? {}).map(([key, example]) => ({ name: `${name}/${key}`, at, example: example.value }));
    return media?.example !== undefined ? [{ name, at, example: media.example }, ...named] : named;
  });
}

export const tagNames: string[] = document.tags.map((tag) => tag.name);
