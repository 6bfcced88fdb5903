import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { HTTP_METHODS } from '../../src/http/spec.js';
import {
  type Json,
  type JsonSchema,
  NASTY_STRINGS,
  flatten,
  invalidValue,
  malformedJson,
  preview,
  validValue,
} from './arbitraries.js';
import { spec } from './contract.js';
import { specOperations } from './operations.js';

/**
 * Generated HTTP requests for every operation of the spec: valid ones from the schemas, invalid
 * ones by mutation, and transport-level garbage. A request is plain data (so fast-check can print,
 * shrink and replay it); fuzz-http.ts sends it.
 */

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

export interface FuzzParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}

export interface FuzzOperation {
  operationId: string;
  method: string;
  /** The spec path, with `{param}` templates. */
  path: string;
  parameters: FuzzParameter[];
  body: { contentType: string; schema: JsonSchema; required: boolean } | undefined;
  /** Its 200 answer is a live text/event-stream. */
  streams: boolean;
}

interface RawOperation {
  requestBody?: { required?: boolean; content: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export function rawOperation(path: string, method: string): RawOperation {
  const item = spec.document.paths[path] as Record<string, RawOperation | undefined> | undefined;
  const operation = item?.[method];
  if (!operation) throw new Error(`no operation ${method} ${path}`);
  return operation;
}

/** Every operation of the bundled spec, with what generation needs to know about it. */
export function fuzzOperations(): FuzzOperation[] {
  return specOperations().map((operation) => {
    const raw = rawOperation(operation.path, operation.method);
    const [contentType, media] = Object.entries(raw.requestBody?.content ?? {})[0] ?? [];
    return {
      operationId: operation.operationId,
      method: operation.method.toUpperCase(),
      path: operation.path,
      parameters: operation.parameters.map((parameter) => ({
        name: parameter.name,
        in: parameter.in,
        required: parameter.required ?? false,
        schema: (parameter.schema ?? {}) as JsonSchema,
      })),
      body: contentType && media?.schema ? { contentType, schema: media.schema, required: raw.requestBody?.required ?? false } : undefined,
      streams: Object.keys(raw.responses['200']?.content ?? {}).includes('text/event-stream'),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/**
 * Resources that exist on the service under test. Generation cannot know their ids (the server
 * makes them), so requests carry a placeholder `@ref:<kind>@` that the sender resolves: the same
 * seed always means "the inference task made in setup", whatever its uuid is this time.
 */
export const REF_KINDS = ['event', 'eventType', 'inferenceTask', 'trainingTask', 'conversation', 'model', 'key', 'location', 'resultLocation', 'user', 'result'] as const;
export type RefKind = (typeof REF_KINDS)[number];
export const refPlaceholder = (kind: RefKind) => `@ref:${kind}@`;
/** Placeholder for the admin token inside a raw Authorization header. */
export const ADMIN_TOKEN_PLACEHOLDER = '@admin-token@';

export type AuthMode = 'admin' | 'none' | 'limited';
export type RequestKind = 'valid' | 'body' | 'params' | 'transport' | 'auth' | 'path';

export interface FuzzRequestInit {
  kind: RequestKind;
  /** What was done to the request, for reports. */
  label: string;
  /** The operation the request was built from (a mutated path may reach another one, or none). */
  operationId: string | undefined;
  method: string;
  /** Path and query, already percent-encoded (or deliberately not). */
  target: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  auth?: AuthMode;
  /** A raw Authorization header; wins over `auth`. */
  authorization?: string;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
}

function bodyPreview(body: string | Uint8Array | undefined, max: number): string {
  if (body === undefined) return '(none)';
  if (typeof body === 'string') return preview(body, max);
  const bytes = Buffer.from(body);
  return `${bytes.length} bytes: ${preview(bytes.subarray(0, max).toString('latin1'), max)}`;
}

export class FuzzRequest implements FuzzRequestInit {
  readonly kind: RequestKind;
  readonly label: string;
  readonly operationId: string | undefined;
  readonly method: string;
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | undefined;
  readonly auth: AuthMode;
  readonly authorization: string | undefined;
  readonly chunked: boolean;

  constructor(init: FuzzRequestInit) {
    this.kind = init.kind;
    this.label = init.label;
    this.operationId = init.operationId;
    this.method = init.method;
    this.target = init.target;
    this.headers = init.headers ?? {};
    this.body = init.body;
    this.auth = init.auth ?? 'admin';
    this.authorization = init.authorization;
    this.chunked = init.chunked ?? false;
  }

  /** A short description: what fast-check prints for counterexamples, and what reports start with. */
  describe(maxBody = 300): string {
    const auth = this.authorization !== undefined ? `authorization ${preview(this.authorization, 60)}` : `auth ${this.auth}`;
    const headers = Object.keys(this.headers).length > 0 ? ` headers ${preview(JSON.stringify(this.headers), 200)}` : '';
    return `${this.method} ${preview(this.target, 300)} [${this.kind}: ${this.label}] ${auth}${headers}${this.chunked ? ' chunked' : ''} body ${bodyPreview(this.body, maxBody)}`;
  }

  [fc.toStringMethod](): string {
    return `<${this.describe(120)}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------

function refKindOf(operation: FuzzOperation, name: string): RefKind | undefined {
  switch (name) {
    case 'event_id':
      return 'event';
    case 'event_type':
      return 'eventType';
    case 'task_id':
      return operation.path.startsWith('/train') ? 'trainingTask' : 'inferenceTask';
    case 'conversation_id':
      return 'conversation';
    case 'model_id':
      return 'model';
    case 'key_id':
      return 'key';
    case 'location_id':
      return 'location';
    case 'user_id':
      return 'user';
    case 'result_id':
      return 'result';
    default:
      return undefined;
  }
}

/** A parameter value as it travels in a URL or header. */
function parameterText(value: Json): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** Valid values of a parameter; ids sometimes name a resource that exists. */
function parameterValue(operation: FuzzOperation, parameter: FuzzParameter): fc.Arbitrary<string> {
  const fromSchema = validValue(parameter.schema).map(parameterText);
  const kind = refKindOf(operation, parameter.name);
  return kind ? fc.oneof({ weight: 1, arbitrary: fromSchema }, { weight: 1, arbitrary: fc.constant(refPlaceholder(kind)) }) : fromSchema;
}

/** Header values must stay visible Latin-1 (Node refuses anything else), so headers get their own. */
const headerText = fc.oneof(fc.stringMatching(/^[\x21-\x7e]{1,100}$/), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String), fc.constantFrom('0', '1.1', '0.0'));

/**
 * encodeURIComponent, but strict about RFC 3986's reserved characters, and an unpaired surrogate (valid in a JSON Schema string, and
 * generated on purpose) becomes the 3 bytes a lenient encoder would write (%ED%A0%80) instead of a
 * URIError: it is for the server to reject them.
 */
export function encodeComponent(value: string): string {
  let result = '';
  for (const char of value) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      result += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    } else {
      // RFC 3986 reserves !'()* too (sub-delims), and the validator insists they be encoded.
      result += encodeURIComponent(char).replace(/[!'()*]/g, (reserved) => `%${reserved.charCodeAt(0).toString(16).toUpperCase()}`);
    }
  }
  return result;
}

/** Placeholders are resolved (and encoded) by the sender; everything else is encoded here. */
const encodePathValue = (value: string) => (value.startsWith('@ref:') ? value : encodeComponent(value));

function fillPath(operation: FuzzOperation, values: Record<string, string>): string {
  return operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => encodePathValue(values[name] ?? 'x'));
}

const queryString = (pairs: readonly (readonly [string, string])[]) =>
  pairs.length === 0 ? '' : `?${pairs.map(([name, value]) => `${encodeComponent(name)}=${value.startsWith('@ref:') ? value : encodeComponent(value)}`).join('&')}`;

const pathParameters = (operation: FuzzOperation) => operation.parameters.filter((parameter) => parameter.in === 'path');
const queryParameters = (operation: FuzzOperation) => operation.parameters.filter((parameter) => parameter.in === 'query');
const headerParameters = (operation: FuzzOperation) => operation.parameters.filter((parameter) => parameter.in === 'header');

function validPathValues(operation: FuzzOperation): fc.Arbitrary<Record<string, string>> {
  const model: Record<string, fc.Arbitrary<string>> = {};
  for (const parameter of pathParameters(operation)) model[parameter.name] = parameterValue(operation, parameter);
  return fc.record(model);
}

function validPath(operation: FuzzOperation): fc.Arbitrary<string> {
  return validPathValues(operation).map((values) => fillPath(operation, values));
}

/**
 * How often an optional query parameter is left out, per time it is sent. A cursor is opaque: any
 * string the schema allows is valid, but only one a listing returned is accepted (the others are a
 * 400 by design), so it comes along rarely in otherwise valid requests.
 */
const OMISSIONS_PER_USE: Record<string, number> = { cursor: 4 };

function validQuery(operation: FuzzOperation): fc.Arbitrary<string> {
  const parts = queryParameters(operation).map((parameter) => {
    const pair = parameterValue(operation, parameter).map((value) => [[parameter.name, value] as const]);
    if (parameter.required) return pair;
    return fc.oneof({ weight: OMISSIONS_PER_USE[parameter.name] ?? 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: pair });
  });
  return fc.tuple(...parts).map((groups) => queryString(groups.flat()));
}

function validHeaders(operation: FuzzOperation): fc.Arbitrary<Record<string, string>> {
  const parts = headerParameters(operation).map((parameter) =>
    fc.option(headerText, { nil: undefined }).map((value): Record<string, string> => (value === undefined ? {} : { [parameter.name]: value })),
  );
  // Compression of answers and the request id are exercised on valid requests too.
  const encoding = fc.option(fc.constantFrom('gzip', 'br', 'deflate', 'gzip, br', 'identity', '*'), { nil: undefined });
  const requestId = fc.option(fc.oneof(fc.uuid(), fc.constantFrom('../../x', 'a'.repeat(129), 'has space', 'caf\u00e9', 'x:y@z=+/-.')), { nil: undefined });
  return fc.tuple(fc.tuple(...parts), encoding, requestId).map(([groups, acceptEncoding, id]) => ({
    ...Object.assign({}, ...groups),
    ...(acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
    ...(id ? { 'x-request-id': id } : {}),
  }));
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

/** Body fields that may name an existing resource instead of a generated id. */
const BODY_REFS: Record<string, Record<string, RefKind>> = {
  createEvent: { event_id: 'event', event_type: 'eventType' },
  selectInferenceResult: { task_id: 'inferenceTask', location_id: 'resultLocation' },
  chat: { conversation_id: 'conversation' },
  streamChat: { conversation_id: 'conversation' },
};

type JsonRecord = { [key: string]: Json };
const isRecord = (value: Json): value is JsonRecord => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Rules beyond the schema that the service documents and enforces with a 400: without them nearly
 * every schema-valid search would be rejected and the rest of the operation never reached.
 */
const BUSINESS_RULES: Record<string, (body: JsonRecord) => JsonRecord> = {
  startInference: (search) => {
    const people = typeof search.people_num === 'number' ? search.people_num : 1;
    const ages = Array.isArray(search.people_age) ? search.people_age : [];
    const children = typeof search.children_num === 'number' ? search.children_num : 0;
    // One age per person, and no more children than people.
    return { ...search, people_age: Array.from({ length: people }, (_, index) => ages[index % Math.max(1, ages.length)] ?? 30), children_num: Math.min(children, people) };
  },
  // Training needs min_labels labelled tasks (422 otherwise); the run makes only a few labels, and
  // its handful of valid trainings should train rather than all be refused.
  startTraining: (params) => ({ ...params, min_labels: 1 }),
};

function validJsonBody(operation: FuzzOperation & { body: NonNullable<FuzzOperation['body']> }): fc.Arbitrary<string> {
  const refs = Object.entries(BODY_REFS[operation.operationId] ?? {});
  const rules = BUSINESS_RULES[operation.operationId];
  const value = rules ? validValue(operation.body.schema).map((body) => (isRecord(body) ? rules(body) : body)) : validValue(operation.body.schema);
  if (refs.length === 0) return value.map((body) => JSON.stringify(body));
  return fc.tuple(value, fc.subarray(refs)).map(([body, chosen]) => {
    if (!isRecord(body)) return JSON.stringify(body);
    // The sender swaps the quoted placeholder for the id's JSON, so an integer id stays an integer.
    return JSON.stringify({ ...body, ...Object.fromEntries(chosen.map(([field, kind]) => [field, refPlaceholder(kind)])) });
  });
}

const LOCATION_FIELDS_SCHEMA: JsonSchema = { $ref: '#/components/schemas/LocationFields' };
const BOUNDARY = '----portico-fuzz-7d3f';

interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  content: string | Uint8Array;
}

/** A multipart/form-data body, built by hand so that it can also be built wrong. */
export function multipart(parts: MultipartPart[], boundary = BOUNDARY, close = true): Uint8Array {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType ? `Content-Type: ${part.contentType}\r\n` : ''}\r\n`, 'utf8'));
    chunks.push(Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return new Uint8Array(Buffer.concat(chunks));
}

const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** Shared by every operation's arbitraries: built once, they are 1 MB and 5 MB. */
const OVERSIZED_BODY = JSON.stringify({ event_id: 'big', event_type: 'big', event_data: { blob: 'x'.repeat(1_100_000) } });
const OVERSIZED_FILE = multipart([{ name: 'file', filename: 'locations.csv', contentType: 'text/csv', content: 'x'.repeat(5 * 1024 * 1024 + 10) }]);

/** CSV of valid locations: the header may carry location_id; cells spelled as spreadsheets do. */
const csvFile: fc.Arbitrary<string> = fc
  .record({
    withIds: fc.boolean(),
    rows: fc.array(fc.tuple(validValue(LOCATION_FIELDS_SCHEMA), fc.option(fc.integer({ min: 100_000, max: 2_147_483_647 }), { nil: undefined })), { minLength: 1, maxLength: 5 }),
    delimiter: fc.constantFrom(',', '\t'),
    newline: fc.constantFrom('\n', '\r\n'),
    bom: fc.boolean(),
    truthy: fc.constantFrom('true', '1', 'yes', 'T', 'Y'),
  })
  .map(({ withIds, rows, delimiter, newline, bom, truthy }) => {
    const fields = Object.keys(flatten(LOCATION_FIELDS_SCHEMA).properties ?? {});
    const header = [...(withIds ? ['location_id'] : []), ...fields];
    const lines = rows.map(([location, id]) => {
      const record = location as Record<string, Json>;
      const cells = fields.map((field) => {
        const value = record[field];
        return value === true ? truthy : value === false ? 'false' : String(value);
      });
      return [...(withIds ? [id === undefined ? '' : String(id)] : []), ...cells].join(delimiter);
    });
    return `${bom ? '\ufeff' : ''}${[header.join(delimiter), ...lines].join(newline)}${newline}`;
  });

const csvUpload = csvFile.map((csv) => ({ body: multipart([{ name: 'file', filename: 'locations.csv', contentType: 'text/csv', content: csv }]), contentType: MULTIPART_TYPE }));

interface BodyChoice {
  body: string | Uint8Array | undefined;
  contentType: string | undefined;
}

function validBody(operation: FuzzOperation): fc.Arbitrary<BodyChoice> {
  const body = operation.body;
  if (!body) return fc.constant({ body: undefined, contentType: undefined });
  if (body.contentType === 'multipart/form-data') return csvUpload;
  const json = validJsonBody({ ...operation, body }).map((text) => ({ body: text, contentType: body.contentType }));
  return body.required ? json : fc.oneof(json, fc.constant({ body: undefined, contentType: undefined }));
}

// ---------------------------------------------------------------------------------------------
// Valid requests
// ---------------------------------------------------------------------------------------------

function validParts(operation: FuzzOperation) {
  return fc.record({ path: validPath(operation), query: validQuery(operation), headers: validHeaders(operation), body: validBody(operation) });
}

function validRequest(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> {
  return validParts(operation).map(
    ({ path, query, headers, body }) =>
      new FuzzRequest({
        kind: 'valid',
        label: 'valid',
        operationId: operation.operationId,
        method: operation.method,
        target: `${path}${query}`,
        headers: { ...headers, ...(body.contentType ? { 'content-type': body.contentType } : {}) },
        body: body.body,
      }),
  );
}

/** The spec's example request (valid by construction), as a base for transport-level mutations. */
function exampleParts(operation: FuzzOperation): { target: string; body: string; contentType: string } {
  const example = specOperations().find((candidate) => candidate.operationId === operation.operationId)?.example;
  return { target: example?.url ?? operation.path, body: example?.body ?? '{"a":1}', contentType: example?.contentType ?? 'application/json' };
}

// ---------------------------------------------------------------------------------------------
// Invalid bodies
// ---------------------------------------------------------------------------------------------

function bodyMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> | undefined {
  const body = operation.body;
  if (!body || body.contentType !== 'application/json') return undefined;
  return fc.tuple(validPath(operation), invalidValue(body.schema)).map(
    ([path, mutant]) =>
      new FuzzRequest({
        kind: 'body',
        label: mutant.label,
        operationId: operation.operationId,
        method: operation.method,
        target: path,
        headers: { 'content-type': 'application/json' },
        body: mutant.text,
      }),
  );
}

/** CSV files with something wrong inside, and multipart bodies with something wrong around them. */
function multipartMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> | undefined {
  if (operation.body?.contentType !== 'multipart/form-data') return undefined;
  const request = (label: string, body: Uint8Array | string, contentType: string = MULTIPART_TYPE) =>
    new FuzzRequest({ kind: 'body', label, operationId: operation.operationId, method: operation.method, target: operation.path, headers: { 'content-type': contentType }, body });
  const file = (content: string | Uint8Array, extra: Partial<MultipartPart> = {}) => multipart([{ name: 'file', filename: 'locations.csv', contentType: 'text/csv', content, ...extra }]);
  const badCell = fc.oneof(fc.constantFrom(...NASTY_STRINGS, '1e400', 'NaN', '-1', '11', '1000001', '', '"', '""', '"unclosed', 'maybe'), fc.string({ unit: 'binary', maxLength: 20 }));
  const brokenCsv = fc.tuple(csvFile, badCell, fc.nat()).map(([csv, cell, position]) => {
    const lines = csv.split(/\r?\n/);
    const row = 1 + (position % Math.max(1, lines.length - 2));
    const cells = (lines[row] ?? '').split(/[,\t]/);
    cells[position % Math.max(1, cells.length)] = cell.replaceAll(/[,\t\r\n]/g, '');
    lines[row] = cells.join(csv.includes('\t') ? '\t' : ',');
    return request(`bad cell ${preview(cell, 30)}`, file(lines.join('\n')));
  });
  const structural = fc.tuple(csvFile, fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)).map(([csv, which]) => {
    const header = csv.split(/\r?\n/)[0] ?? '';
    switch (which) {
      case 0:
        return request('header only', file(`${header}\n`));
      case 1:
        return request('empty file', file(''));
      case 2:
        return request('missing column', file(csv.replace(/,?price/, '')));
      case 3:
        return request('unknown column', file(csv.replace(/^\ufeff?/, 'secret,')));
      case 4:
        return request('extra cell', file(csv.replaceAll('\n', ',1\n')));
      case 5:
        return request('field named upload', multipart([{ name: 'upload', filename: 'l.csv', content: csv }]));
      case 6:
        return request('two files', multipart([{ name: 'file', filename: 'a.csv', content: csv }, { name: 'file', filename: 'b.csv', content: csv }]));
      case 7:
        return request('eleven fields', multipart([...Array.from({ length: 11 }, (_, index) => ({ name: `f${index}`, content: 'x' })), { name: 'file', filename: 'a.csv', content: csv }]));
      case 8:
        return request('no closing boundary', multipart([{ name: 'file', filename: 'a.csv', content: csv }], BOUNDARY, false));
      case 9:
        return request('other boundary', multipart([{ name: 'file', filename: 'a.csv', content: csv }], 'other'));
      case 10:
        return request('no boundary parameter', file(csv), 'multipart/form-data');
      case 11:
        return request('traversal file name', file(csv, { filename: '../../etc/passwd' }));
      default:
        return request('field without a file', multipart([{ name: 'file', content: csv }]));
    }
  });
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((bytes) => request('binary file', file(bytes))),
    fc.constantFrom([0xc3, 0x28], [0xff, 0xfe, 0x00], [0xed, 0xa0, 0x80]).map((bytes) => request(`invalid UTF-8 ${bytes.map((byte) => byte.toString(16)).join(' ')} in the file`, file(new Uint8Array(bytes)))),
    fc.constant(request('file over 5 MB', OVERSIZED_FILE)),
    fc.constant(request('garbage multipart', 'this is not multipart')),
    fc.constant(request('empty multipart', '')),
  );
  return fc.oneof({ weight: 3, arbitrary: brokenCsv }, { weight: 3, arbitrary: structural }, { weight: 1, arbitrary: garbage });
}

// ---------------------------------------------------------------------------------------------
// Invalid parameters
// ---------------------------------------------------------------------------------------------

/** Path segments (already in URL form) that traverse, inject, or encode oddly. */
export const PATH_GARBAGE: readonly string[] = [
  '..%2F..%2Fetc%2Fpasswd',
  '..%2f..%2f..%2fwindows%2fwin.ini',
  '%2e%2e%2f%2e%2e%2f',
  '..',
  '.',
  '%2e%2e',
  '..;',
  '../../etc/passwd',
  'a/b',
  '',
  encodeURIComponent("' OR 1=1 --"),
  encodeURIComponent('"; drop table events; --'),
  "'OR'1'='1",
  '1;select(pg_sleep(5))',
  '%00',
  'a%00b',
  '%ZZ',
  '%',
  '%E0%A4%A',
  '%C0%AF',
  '%ED%A0%80',
  '%FF%FE',
  '%252F',
  '%25',
  encodeURIComponent('ünïcødé'),
  encodeURIComponent('😀'),
  encodeURIComponent('\u202e'),
  '%EF%BF%BF',
  'x'.repeat(10_000),
  '-1',
  '0',
  '1.5',
  '1e3',
  '0x10',
  '99999999999999999999',
  '9223372036854775808',
  '%2B1',
  '%201',
  '00000000-0000-0000-0000-00000000000g',
  'URN%3AUUID%3A00000000-0000-0000-0000-000000000000',
  '%7B00000000-0000-0000-0000-000000000000%7D',
  '00000000000000000000000000000000',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  'stream',
  'batch',
  'key_',
  `key_${'a'.repeat(65)}`,
  'mdl_0000000000000000',
  'MDL_0000000000000000',
];

/** Page sizes and cursors no client should send. */
export const PAGINATION_GARBAGE: readonly string[] = [
  'limit=-1',
  'limit=0',
  'limit=501',
  'limit=5001',
  'limit=1e9',
  'limit=1000000000',
  'limit=99999999999999999999999',
  'limit=abc',
  'limit=1.5',
  'limit=',
  'limit',
  'limit=%00',
  'limit=0x10',
  'limit=1&limit=2',
  'limit[]=1',
  'limit[a]=1',
  'limit=%2B5',
  'limit=%205',
  'limit=NaN',
  'limit=Infinity',
  'limit=-0',
  'cursor=',
  'cursor=%3D%3D%3D',
  `cursor=${'A'.repeat(201)}`,
  'cursor=..%2F..',
  'cursor=%27%20OR%201%3D1%20--',
  'cursor=bm9wZQ',
  'cursor=e30',
  'cursor=a&cursor=b',
  'after_id=-1',
  'after_id=1.5',
  'after_id=99999999999999999999',
  'after_id=abc',
];

/** Cursors that decode: random bytes, and JSON positions with hostile values under the real keys. */
export const cursorArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
  fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => encodeURIComponent(Buffer.from(bytes).toString('base64'))),
  fc
    .dictionary(
      fc.constantFrom('x', 'i', 's', 't', 'v', '__proto__'),
      fc.constantFrom<Json>('0', '1', '-1', '2147483648', '99999999999999999999', '9223372036854775807', '9223372036854775808', '18446744073709551616', '00000000000000000001', '1e3', '1.5', '', 'abc', "' OR 1=1 --", '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 1, null, true, [], {}),
      { minKeys: 1, maxKeys: 3 },
    )
    .map((position) => Buffer.from(JSON.stringify(position)).toString('base64url')),
);

const QUERY_VALUE_GARBAGE = ['abc', '-1', '0', '1e400', '%00', '%FF', 'a'.repeat(300), 'true', '', '2024-13-45', '%27%20OR%201%3D1%20--', '..%2F..', '%ED%A0%80', '[]', '{}'];
const UNKNOWN_QUERY = ['foo=bar', '__proto__=1', '__proto__[admin]=1', 'constructor[prototype][admin]=1', 'owner%00=1', '=1', '&&&', '?', 'a=1;b=2', 'x=%ZZ', '%ZZ=1'];
const RESUME_GARBAGE = ['-1', 'abc', '99999999999999999999.99999999999999999999', '1.2.3', '0.0', 'a'.repeat(101), "' OR 1=1 --", '18446744073709551616.1', '99999999999999999999', '1e3'];

function pathMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> | undefined {
  const parameters = pathParameters(operation);
  if (parameters.length === 0) return undefined;
  return fc.tuple(fc.constantFrom(...parameters), fc.constantFrom(...PATH_GARBAGE), validPathValues(operation), validBody(operation)).map(([parameter, garbage, values, body]) => {
    // The garbage is already in URL form: it goes in verbatim, the other parameters stay valid.
    const target = operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => (name === parameter.name ? garbage : encodePathValue(values[name] ?? 'x')));
    return new FuzzRequest({
      kind: 'params',
      label: `path ${parameter.name} = ${preview(garbage, 40)}`,
      operationId: operation.operationId,
      method: operation.method,
      target,
      headers: body.contentType ? { 'content-type': body.contentType } : {},
      body: body.body,
    });
  });
}

function queryMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> {
  const names = queryParameters(operation).map((parameter) => parameter.name);
  const paged = names.includes('limit') || names.includes('cursor') || names.includes('after_id');
  const garbage: fc.Arbitrary<{ label: string; query: string }>[] = [
    fc.constantFrom(...UNKNOWN_QUERY).map((query) => ({ label: 'unknown query parameter', query })),
    fc.constantFrom(8_000, 70_000).map((length) => ({ label: `huge query string (${length})`, query: `q=${'a'.repeat(length)}` })),
  ];
  if (paged) {
    garbage.push(
      fc.constantFrom(...PAGINATION_GARBAGE).map((query) => ({ label: `absurd pagination ${preview(query, 40)}`, query })),
      cursorArbitrary.map((cursor) => ({ label: 'random cursor', query: `cursor=${cursor}` })),
    );
  }
  if (names.length > 0) {
    garbage.push(
      fc.tuple(fc.constantFrom(...names), fc.constantFrom(...QUERY_VALUE_GARBAGE)).map(([name, value]) => ({ label: `query ${name} = ${preview(value, 30)}`, query: `${name}=${value}` })),
      fc.constantFrom(...names).map((name) => ({ label: `query ${name} repeated`, query: `${name}=a&${name}=b` })),
      fc.constantFrom(...names).map((name) => ({ label: `query ${name} long`, query: `${name}=${'a'.repeat(10_000)}` })),
    );
  }
  if (names.includes('last_event_id')) garbage.push(fc.constantFrom(...RESUME_GARBAGE).map((value) => ({ label: 'bad last_event_id', query: `last_event_id=${encodeURIComponent(value)}` })));
  return fc.tuple(validParts(operation), fc.oneof(...garbage)).map(([parts, { label, query }]) => {
    const base = `${parts.path}${parts.query}`;
    return new FuzzRequest({
      kind: 'params',
      label,
      operationId: operation.operationId,
      method: operation.method,
      target: `${base}${base.includes('?') ? '&' : '?'}${query}`,
      headers: parts.body.contentType ? { 'content-type': parts.body.contentType } : {},
      body: parts.body.body,
    });
  });
}

function headerMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> | undefined {
  const headers = headerParameters(operation);
  if (headers.length === 0) return undefined;
  return fc.tuple(validParts(operation), fc.constantFrom(...headers), fc.constantFrom(...RESUME_GARBAGE)).map(
    ([parts, header, value]) =>
      new FuzzRequest({
        kind: 'params',
        label: `header ${header.name} = ${preview(value, 30)}`,
        operationId: operation.operationId,
        method: operation.method,
        target: `${parts.path}${parts.query}`,
        headers: { [header.name]: value },
      }),
  );
}

// ---------------------------------------------------------------------------------------------
// Transport-level garbage
// ---------------------------------------------------------------------------------------------

export const WRONG_CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'application/jsonx',
  'application/problem+json',
  'application/vnd.api+json',
  'APPLICATION/JSON',
  'application/json;;',
  '*/*',
  'application/',
  ';',
  'text/html; charset=utf-8',
  'application/octet-stream',
  'application/json, text/plain',
];

/** Byte sequences that are not UTF-8: a bad continuation, overlong, encoded surrogate, beyond U+10FFFF, truncated. */
export const INVALID_UTF8: readonly (readonly number[])[] = [[0xc3, 0x28], [0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x00], [0x80]];

/** `text` with `bytes` spliced into its first string value (or appended when it has none). */
function withBytes(text: string, bytes: readonly number[]): Uint8Array {
  const at = text.indexOf('"', text.indexOf(':') + 1);
  const cut = at < 0 ? text.length : at + 1;
  return new Uint8Array(Buffer.concat([Buffer.from(text.slice(0, cut)), Buffer.from(bytes), Buffer.from(text.slice(cut))]));
}

function transportMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> {
  const example = exampleParts(operation);
  const hasJsonBody = operation.body?.contentType === 'application/json';
  const bodyText = fc.oneof(fc.constant(example.body), ...(hasJsonBody && operation.body ? [validJsonBody({ ...operation, body: operation.body })] : []));
  const make = (label: string, init: Partial<FuzzRequestInit>) =>
    new FuzzRequest({ kind: 'transport', label, operationId: operation.operationId, method: operation.method, target: example.target, ...init });
  const json = { 'content-type': 'application/json' };
  const mutations: fc.Arbitrary<FuzzRequest>[] = [
    bodyText.chain((text) => malformedJson(text)).map((mutant) => make(`malformed JSON: ${mutant.label}`, { headers: json, body: mutant.text })),
    fc.tuple(bodyText, fc.constantFrom(...INVALID_UTF8)).map(([text, bytes]) => make(`invalid UTF-8 ${bytes.map((byte) => byte.toString(16)).join(' ')}`, { headers: json, body: withBytes(text, bytes) })),
    fc.tuple(bodyText, fc.constantFrom(...WRONG_CONTENT_TYPES)).map(([text, type]) => make(`content-type ${type}`, { headers: { 'content-type': type }, body: text })),
    bodyText.map((text) => make('no content-type', { body: text })),
    fc.constantFrom<[string, Partial<FuzzRequestInit>]>(
      ['empty body', { headers: json, body: '' }],
      ['empty chunked body', { headers: json, body: '', chunked: true }],
      ['no body', { headers: json }],
    ).map(([label, init]) => make(label, init)),
    bodyText.map((text) => make('chunked', { headers: json, body: text, chunked: true })),
    fc.tuple(bodyText, fc.constantFrom('gzip', 'deflate', 'br', 'garbage-gzip', 'compress', 'identity', 'gzip, gzip')).map(([text, encoding]) => {
      const encoded =
        encoding === 'gzip' ? gzipSync(text) : encoding === 'deflate' ? deflateSync(text) : encoding === 'br' ? brotliCompressSync(Buffer.from(text)) : Buffer.from(text);
      return make(`content-encoding ${encoding}`, { headers: { ...json, 'content-encoding': encoding === 'garbage-gzip' ? 'gzip' : encoding }, body: new Uint8Array(encoded) });
    }),
    bodyText.map((text) => make('UTF-16 body', { headers: { 'content-type': 'application/json; charset=utf-16le' }, body: new Uint8Array(Buffer.from(text, 'utf16le')) })),
    fc.constant(make('body over 1 MB', { headers: json, body: OVERSIZED_BODY })),
  ];
  if (!operation.body) {
    // Operations without a body, sent one anyway (GET and DELETE with a body).
    mutations.push(bodyText.map((text) => make(`${operation.method} with a body`, { headers: json, body: text })));
  }
  const declared = new Set(Object.keys(spec.document.paths[operation.path] ?? {}).map((method) => method.toUpperCase()));
  const otherMethods = HTTP_METHODS.map((method) => method.toUpperCase()).filter((method) => !declared.has(method) && method !== 'CONNECT');
  if (otherMethods.length > 0) {
    mutations.push(fc.tuple(fc.constantFrom(...otherMethods), fc.option(bodyText, { nil: undefined })).map(([method, text]) => make(`method ${method}`, { method, ...(text ? { headers: json, body: text } : {}) })));
  }
  return fc.oneof(...mutations);
}

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

export const AUTHORIZATION_GARBAGE: readonly string[] = [
  'Bearer',
  'Bearer ',
  'Bearer  x',
  'Basic YWRtaW46YWRtaW4=',
  `bearer ${ADMIN_TOKEN_PLACEHOLDER}`,
  `BEARER ${ADMIN_TOKEN_PLACEHOLDER}`,
  `Bearer ${ADMIN_TOKEN_PLACEHOLDER}x`,
  `Bearer ${ADMIN_TOKEN_PLACEHOLDER} ${ADMIN_TOKEN_PLACEHOLDER}`,
  `Bearer ${'a'.repeat(10_000)}`,
  "Bearer ' OR 1=1 --",
  'Bearer ptk_',
  `Bearer ptk_${'A'.repeat(43)}`,
  'Token abc',
  'Bearer \u00ff\u00fe',
  'Bearer a b',
  ', Bearer x',
  'Bearer x, Bearer y',
  'Bearer %00',
];

function authMutation(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(validRequest(operation), fc.oneof(fc.constantFrom<AuthMode>('none', 'limited'), fc.constantFrom(...AUTHORIZATION_GARBAGE))).map(([request, auth]) => {
    const raw = auth !== 'none' && auth !== 'limited';
    return new FuzzRequest({
      ...request,
      kind: 'auth',
      label: raw ? `authorization ${preview(auth, 30)}` : `auth ${auth}`,
      ...(raw ? { authorization: auth } : { auth }),
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Paths that are no operation at all
// ---------------------------------------------------------------------------------------------

export const UNKNOWN_TARGETS: readonly string[] = [
  '/',
  '//events',
  '/events/a/b/c',
  '/ADMIN/api-keys',
  '/Events',
  '/events;jsessionid=1',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/docs/../openapi.json',
  '/../../etc/passwd',
  '/.env',
  '/.git/config',
  '/wp-admin',
  '/events%00',
  '/events%2F',
  '/%ZZ',
  '/%C0%AE%C0%AE/',
  '/events/',
  '/inference/status/',
  '/admin/api-keys/',
  `/${'a'.repeat(10_000)}`,
  '/openapi.json?x=1',
  '/metrics/../health',
  '/health?__proto__[x]=1',
];

const unknownPath: fc.Arbitrary<FuzzRequest> = fc
  .tuple(fc.constantFrom(...UNKNOWN_TARGETS), fc.constantFrom('GET', 'POST', 'DELETE'))
  .map(([target, method]) => new FuzzRequest({ kind: 'path', label: 'no such operation', operationId: undefined, method, target, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}) }));

// ---------------------------------------------------------------------------------------------
// Everything together
// ---------------------------------------------------------------------------------------------

type Weighted = fc.WeightedArbitrary<FuzzRequest>;

/** Every kind of request for one operation, weighted: mostly valid, then mutated bodies and parameters. */
export function requestsFor(operation: FuzzOperation): fc.Arbitrary<FuzzRequest> {
  const choices: (Weighted | undefined)[] = [
    { weight: 7, arbitrary: validRequest(operation) },
    ...[bodyMutation(operation), multipartMutation(operation)].map((arbitrary) => (arbitrary ? { weight: 8, arbitrary } : undefined)),
    ...[pathMutation(operation), headerMutation(operation)].map((arbitrary) => (arbitrary ? { weight: 2, arbitrary } : undefined)),
    { weight: 2, arbitrary: queryMutation(operation) },
    { weight: 3, arbitrary: transportMutation(operation) },
    { weight: 1, arbitrary: authMutation(operation) },
  ];
  return fc.oneof(...choices.filter((choice): choice is Weighted => choice !== undefined));
}

/** Requests for every operation of the spec (each equally likely), plus paths that match none. */
export function fuzzRequests(operations: FuzzOperation[] = fuzzOperations()): fc.Arbitrary<FuzzRequest> {
  // Operations with a body have more to get wrong: they get half as many requests again.
  return fc.oneof(...operations.map((operation) => ({ weight: operation.body ? 15 : 10, arbitrary: requestsFor(operation) })), { weight: 5, arbitrary: unknownPath });
}
