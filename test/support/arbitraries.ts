import fc from 'fast-check';
import { spec } from './contract.js';

/**
 * fast-check arbitraries from the JSON Schema subset the bundled spec uses: VALID values of a
 * schema, and INVALID variants of a valid value (mutations). Everything here is pure generation;
 * sending requests is fuzz-requests.ts's and fuzz-http.ts's job.
 */

export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

/** The keywords of the spec's schemas that generation understands. */
export interface JsonSchema {
  $ref?: string;
  type?: JsonType | JsonType[];
  const?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  unevaluatedProperties?: boolean;
  minProperties?: number;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
}

/** A JSON value as JSON.parse returns it (fast-check's JsonValue allows `undefined` members; JSON does not). */
export type Json = null | boolean | number | string | Json[] | JsonObject;
type JsonObject = { [key: string]: Json };

/**
 * JSON text spliced verbatim into a serialized value: tokens no JS value serializes to, such as
 * `1e400` (Infinity once parsed), `"\ud800"` spelled as an escape, or 20,000 levels of nesting.
 */
export class RawJson {
  constructor(readonly text: string) {}
  [fc.toStringMethod](): string {
    return `raw(${preview(this.text, 60)})`;
  }
}

/** A JSON value that may hold raw JSON text somewhere inside. */
export type JsonLike = null | boolean | number | string | RawJson | JsonLike[] | { [key: string]: JsonLike };

export function preview(text: string, max = 200): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}…(${text.length} chars)`;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// Schemas: $ref resolution against the bundled document, and allOf flattening
// ---------------------------------------------------------------------------------------------

function lookup(pointer: string, document: unknown): JsonSchema {
  if (!pointer.startsWith('#/')) throw new Error(`only local $refs are supported, not ${pointer}`);
  let current: unknown = document;
  for (const raw of pointer.slice(2).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(current) || !(segment in current)) throw new Error(`$ref ${pointer} does not resolve`);
    current = current[segment];
  }
  if (!isObject(current)) throw new Error(`$ref ${pointer} is not a schema`);
  return current as JsonSchema;
}

/** Follows `$ref`s (siblings of a `$ref` override the target, as OpenAPI 3.1 allows). */
export function resolveSchema(schema: JsonSchema, document: unknown = spec.document): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref !== undefined; hops++) {
    if (hops > 32) throw new Error(`$ref chain too long at ${current.$ref}`);
    const { $ref, ...siblings } = current;
    current = { ...lookup($ref, document), ...siblings };
  }
  return current;
}

const flattened = new WeakMap<JsonSchema, JsonSchema>();

/**
 * The schema with `$ref`s resolved and `allOf` merged into one object schema: the spec uses allOf
 * only to compose objects (`UserData` = `UserFields` + `unevaluatedProperties: false`), so merging
 * properties and required lists is exact here. `unevaluatedProperties: false` becomes
 * `additionalProperties: false` on the merged schema, which is what it means after the merge.
 */
export function flatten(schema: JsonSchema): JsonSchema {
  const cached = flattened.get(schema);
  if (cached) return cached;
  const resolved = resolveSchema(schema);
  let result: JsonSchema = resolved;
  if (resolved.allOf) {
    const { allOf, unevaluatedProperties, ...own } = resolved;
    const members = allOf.map(flatten);
    const merged: JsonSchema = { ...own, type: 'object', properties: {}, required: [] };
    for (const member of [...members, own]) {
      Object.assign(merged.properties!, member.properties ?? {});
      merged.required = [...new Set([...merged.required!, ...(member.required ?? [])])];
      if (member.additionalProperties === false) merged.additionalProperties = false;
      if (member.minProperties !== undefined) merged.minProperties = member.minProperties;
    }
    if (unevaluatedProperties === false) merged.additionalProperties = false;
    result = merged;
  }
  flattened.set(schema, result);
  return result;
}

/** The JSON types a schema admits, made explicit (an untyped schema with properties is an object). */
export function typesOf(schema: JsonSchema): JsonType[] {
  if (schema.type !== undefined) return Array.isArray(schema.type) ? schema.type : [schema.type];
  if (schema.properties || schema.additionalProperties !== undefined) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

export function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as 'boolean' | 'string' | 'object';
}

function exampleOf(schema: JsonSchema): Json | undefined {
  const value = schema.example ?? schema.examples?.[0] ?? schema.default;
  return value === undefined ? undefined : (value as Json);
}

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------

export interface ValidOptions {
  /** Longest generated array (beyond minItems) and largest free-form object. */
  maxArrayLength: number;
  /** Nesting of free-form JSON (event_data, metadata). */
  maxJsonDepth: number;
}
const DEFAULTS: ValidOptions = { maxArrayLength: 4, maxJsonDepth: 3 };

const MIN_DATE = new Date('0000-01-01T00:00:00.000Z');
const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');
const anyDate = fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true });

const pad = (value: number, width = 2) => String(Math.abs(value)).padStart(width, '0');

/**
 * RFC 3339 date-times, including the odd but valid: offsets up to ±23:59 (also where they carry the
 * instant past year 9999 or before year 0001 in UTC), years 0000 and 9999, a leap second.
 */
export const dateTimeArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: anyDate.map((date) => date.toISOString()) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(anyDate, fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }))
      .map(([date, offset]) => `${date.toISOString().slice(0, 19)}${offset < 0 ? '-' : '+'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2016-12-31T23:59:60Z',
      '1970-01-01T00:00:00Z',
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999999999Z',
      '9999-12-31T23:59:59-21:13',
      '0001-01-01T00:00:00+00:01',
      '2024-02-29T12:00:00+14:00',
      '2030-01-01t00:00:00z',
      '2030-01-01 00:00:00Z',
    ),
  },
);

/** RFC 3339 full-dates from year 0000 to 9999. */
export const dateArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: anyDate.map((date) => date.toISOString().slice(0, 10)) },
  { weight: 1, arbitrary: fc.constantFrom('2024-02-29', '0000-01-01', '9999-12-31', '1970-01-01') },
);

/** UUIDs as the `uuid` format accepts them: lower or upper case, optionally as a `urn:uuid:` URN. */
export const uuidArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((uuid) => uuid.toUpperCase()) },
  { weight: 1, arbitrary: fc.uuid().map((uuid) => `urn:uuid:${uuid}`) },
  { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff') },
);

const uriReference = fc.oneof(fc.webPath(), fc.webUrl(), fc.constantFrom('urn:portico:problem:validation', 'about:blank', '#frag', ''));

/** Readable text, sometimes any grapheme (emoji, combining marks, other scripts). */
const textUnit = fc.oneof({ weight: 3, arbitrary: fc.constant('grapheme-ascii' as const) }, { weight: 1, arbitrary: fc.constant('grapheme' as const) });

function lengthOk(schema: JsonSchema) {
  return (text: string) => text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Number.POSITIVE_INFINITY);
}

function patternArbitrary(schema: JsonSchema & { pattern: string }): fc.Arbitrary<string> {
  try {
    return fc.stringMatching(new RegExp(schema.pattern)).filter(lengthOk(schema));
  } catch {
    // A pattern fast-check cannot invert: the spec's own example is valid by construction.
    const example = exampleOf(schema);
    if (typeof example !== 'string') throw new Error(`no generator and no example for pattern ${schema.pattern}`);
    return fc.constant(example);
  }
}

function stringArbitrary(schema: JsonSchema): fc.Arbitrary<string> {
  switch (schema.format) {
    case 'date-time':
      return dateTimeArbitrary;
    case 'date':
      return dateArbitrary;
    case 'uuid':
      return uuidArbitrary;
    case 'uri-reference':
      return uriReference;
  }
  const hostile = hostileStrings(schema);
  const withHostile = (arbitrary: fc.Arbitrary<string>) => (hostile === undefined ? arbitrary : fc.oneof({ weight: 4, arbitrary }, { weight: 1, arbitrary: hostile }));
  if (schema.pattern !== undefined) return withHostile(patternArbitrary({ ...schema, pattern: schema.pattern }));
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? 200;
  const text = textUnit.chain((unit) => fc.string({ unit, minLength, maxLength: Math.min(maxLength, 64) })).filter(lengthOk(schema));
  // Absurd but valid: exactly the longest string the schema allows.
  const longest = fc.constantFrom('x', 'é', '字').map((char) => char.repeat(maxLength));
  return withHostile(schema.maxLength === undefined ? text : fc.oneof({ weight: 9, arbitrary: text }, { weight: 1, arbitrary: longest }));
}

/**
 * Strings the schema allows that are easy to mishandle: NUL and unpaired surrogates are valid
 * JSON Schema strings (a pattern like "no control characters" still lets a surrogate through), but
 * PostgreSQL cannot store them; injection and odd Unicode are valid wherever text is free.
 */
function hostileStrings(schema: JsonSchema): fc.Arbitrary<string> | undefined {
  const allowed = (text: string) => lengthOk(schema)(text) && (schema.pattern === undefined || new RegExp(schema.pattern).test(text));
  const groups = [['a\u0000b', '\u0000', '\ud800', 'x\udc00y', '\udbff\udbff', '\u0001\u007f', '\u2028\u2029', '\u0085'], [...NASTY_STRINGS]]
    .map((group) => group.filter(allowed))
    .filter((group) => group.length > 0);
  return groups.length === 0 ? undefined : fc.oneof(...groups.map((group) => fc.constantFrom(...group)));
}

function integerBounds(schema: JsonSchema): [number, number] {
  const min = Math.max(
    schema.minimum === undefined ? Number.MIN_SAFE_INTEGER : Math.ceil(schema.minimum),
    schema.exclusiveMinimum === undefined ? Number.MIN_SAFE_INTEGER : Math.floor(schema.exclusiveMinimum) + 1,
  );
  const max = Math.min(
    schema.maximum === undefined ? Number.MAX_SAFE_INTEGER : Math.floor(schema.maximum),
    schema.exclusiveMaximum === undefined ? Number.MAX_SAFE_INTEGER : Math.ceil(schema.exclusiveMaximum) - 1,
  );
  return [min, max];
}

function integerArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const [min, max] = integerBounds(schema);
  // fc.integer is 32-bit; wider ranges (result ids up to 2^53 - 1) go through bigint.
  if (min >= -0x80000000 && max <= 0x7fffffff) return fc.integer({ min, max });
  return fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);
}

function numberArbitrary(schema: JsonSchema): fc.Arbitrary<number> {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const double = fc
    .double({
      noNaN: true,
      noDefaultInfinity: true,
      ...(min === undefined ? {} : { min, minExcluded: schema.minimum === undefined }),
      ...(max === undefined ? {} : { max, maxExcluded: schema.maximum === undefined }),
    })
    // -0 serializes as 0; keeping it would only make shrinking report a value the server never saw.
    .map((value) => (Object.is(value, -0) ? 0 : value));
  const [low, high] = integerBounds(schema);
  return low > high ? double : fc.oneof({ weight: 3, arbitrary: double }, { weight: 1, arbitrary: integerArbitrary(schema) });
}

/** Any JSON, for free-form schemas (`event_data`, `metadata`). */
export function freeJson(options: ValidOptions = DEFAULTS): fc.Arbitrary<Json> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.jsonValue({ maxDepth: options.maxJsonDepth }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: options.maxJsonDepth, stringUnit: 'grapheme' }) },
    )
    // fc.jsonValue never produces undefined members; its type only allows them.
    .map((value) => value as Json);
}

function freeObject(options: ValidOptions): fc.Arbitrary<JsonObject> {
  return fc.dictionary(fc.string({ maxLength: 12 }), freeJson(options), { maxKeys: options.maxArrayLength });
}

function arrayArbitrary(schema: JsonSchema, options: ValidOptions): fc.Arbitrary<Json[]> {
  const items = validValue(schema.items ?? {}, options);
  const minLength = schema.minItems ?? 0;
  const maxLength = Math.min(schema.maxItems ?? Number.POSITIVE_INFINITY, minLength + options.maxArrayLength);
  if (schema.uniqueItems) return fc.uniqueArray(items, { minLength, maxLength, selector: (item) => JSON.stringify(item) });
  return fc.array(items, { minLength, maxLength });
}

function objectArbitrary(schema: JsonSchema, options: ValidOptions): fc.Arbitrary<JsonObject> {
  const properties = schema.properties ?? {};
  const model: Record<string, fc.Arbitrary<Json>> = {};
  for (const [name, property] of Object.entries(properties)) model[name] = validValue(property, options);
  const required = (schema.required ?? []).filter((name) => name in properties);
  let result: fc.Arbitrary<JsonObject> = fc.record(model, { requiredKeys: required });
  const additional = schema.additionalProperties;
  if (additional === true || isObject(additional) || (additional === undefined && Object.keys(properties).length === 0)) {
    const extra = isObject(additional) && Object.keys(additional).length > 0
      ? fc.dictionary(fc.string({ maxLength: 12 }), validValue(additional, options), { maxKeys: options.maxArrayLength })
      : freeObject(options);
    // Declared properties win over generated extra keys of the same name.
    result = fc.tuple(extra, result).map(([more, declared]) => ({ ...more, ...declared }));
  }
  const minProperties = schema.minProperties ?? 0;
  return minProperties > 0 ? result.filter((value) => Object.keys(value).length >= minProperties) : result;
}

function arbitraryForType(type: JsonType, schema: JsonSchema, options: ValidOptions): fc.Arbitrary<Json> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerArbitrary(schema);
    case 'number':
      return numberArbitrary(schema);
    case 'string':
      return stringArbitrary(schema);
    case 'array':
      return arrayArbitrary(schema, options);
    case 'object':
      return objectArbitrary(schema, options);
  }
}

const validCache = new WeakMap<JsonSchema, fc.Arbitrary<Json>>();

/** Values that are valid against `schema` (a schema of the bundled spec, `$ref`s allowed). */
export function validValue(schema: JsonSchema, options: ValidOptions = DEFAULTS): fc.Arbitrary<Json> {
  const cached = options === DEFAULTS ? validCache.get(schema) : undefined;
  if (cached) return cached;
  const flat = flatten(schema);
  let result: fc.Arbitrary<Json>;
  if (flat.const !== undefined) result = fc.constant(flat.const as Json);
  else if (flat.enum) result = fc.constantFrom(...(flat.enum as Json[]));
  else if (flat.oneOf ?? flat.anyOf) result = fc.oneof(...(flat.oneOf ?? flat.anyOf ?? []).map((branch) => validValue(branch, options)));
  else {
    const types = typesOf(flat);
    result = types.length === 0 ? freeJson(options) : fc.oneof(...types.map((type) => arbitraryForType(type, flat, options)));
  }
  if (options === DEFAULTS) validCache.set(schema, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Serializing values that may hold raw JSON
// ---------------------------------------------------------------------------------------------

/** JSON text of a value, with RawJson spliced in verbatim. */
export function toJsonText(value: JsonLike): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.entries(value as Record<string, JsonLike>)
      .map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Invalid variants (mutations)
// ---------------------------------------------------------------------------------------------

type Path = readonly (string | number)[];

/** A place inside a valid value, with the (flattened) schema that governs it. */
interface Site {
  path: Path;
  schema: JsonSchema;
  value: Json;
}

const pointerOf = (path: Path) => (path.length === 0 ? '(root)' : `/${path.join('/')}`);

/** Every place of `value` a mutation can target; arrays contribute their first items only. */
function sitesOf(schema: JsonSchema, value: Json, path: Path = [], out: Site[] = []): Site[] {
  const flat = flatten(schema);
  out.push({ path, schema: flat, value });
  if (out.length > 60) return out;
  if (Array.isArray(value)) {
    value.slice(0, 3).forEach((item, index) => sitesOf(flat.items ?? {}, item, [...path, index], out));
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const additional = isObject(flat.additionalProperties) ? flat.additionalProperties : {};
      sitesOf(flat.properties?.[key] ?? additional, child, [...path, key], out);
    }
  }
  return out;
}

const REMOVE = Symbol('remove');

/** `root` with the value at `path` replaced (or removed, or added when the key is new). */
function replaceAt(root: JsonLike, path: Path, replacement: JsonLike | typeof REMOVE): JsonLike | undefined {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const [head, ...rest] = path;
  if (Array.isArray(root) && typeof head === 'number') {
    const copy = [...root];
    const next = replaceAt(copy[head] ?? null, rest, replacement);
    if (next === undefined) copy.splice(head, 1);
    else copy[head] = next;
    return copy;
  }
  if (isObject(root) && !(root instanceof RawJson) && typeof head === 'string') {
    const copy: { [key: string]: JsonLike } = { ...(root as { [key: string]: JsonLike }) };
    const next = replaceAt(copy[head] ?? null, rest, replacement);
    if (next === undefined) delete copy[head];
    else copy[head] = next;
    return copy;
  }
  return root;
}

/** An invalid (or at least hostile) variant: what it is, and the JSON text to send. */
export interface Mutant {
  label: string;
  text: string;
}

interface Edit {
  label: string;
  /** Relative to the site; [] replaces the site itself. */
  at: Path;
  value: JsonLike | typeof REMOVE;
}

/** `levels` of alternating objects and arrays around a leaf: {"a":[{"a":[…]}]}. */
export function nested(levels: number, leaf: Json = 'bottom'): Json {
  let value: Json = leaf;
  for (let level = 0; level < levels; level++) value = level % 2 === 0 ? [value] : { a: value };
  return value;
}

/** Nesting far past any sane limit, as text (building it as a value would only test this file's stack). */
export const VERY_DEEP = new RawJson(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);

export const HUGE_STRING_LENGTH = 100_000;

/** Strings that have broken other services: injection, traversal, and Unicode that is easy to mishandle. */
export const NASTY_STRINGS: readonly string[] = [
  "' OR 1=1 --",
  '"; drop table events; --',
  "'); DELETE FROM api_keys; --",
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '%s%s%s%n',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\u202eevil\u202c',
  'zero\u200bwidth\u200djoin',
  '\ufeffbom',
  'Ａｄｍｉｎ',
  'e\u0301\u0301\u0301\u0301',
  '😀👩‍👩‍👧‍👦🏳️‍🌈',
  '\uffff\ufffe',
  '\u{10ffff}',
  ' ',
  '\t\r\n',
  'null',
  'true',
  '-1',
  '1e400',
  'NaN',
  '__proto__',
  'constructor',
];

/** Strings PostgreSQL cannot store or JSON cannot spell plainly: NUL, unpaired surrogates (as escapes). */
export const UNSTORABLE_STRINGS: readonly RawJson[] = [
  new RawJson('"a\\u0000b"'),
  new RawJson('"\\u0000"'),
  new RawJson('"\\ud800"'),
  new RawJson('"x\\udc00y"'),
  new RawJson('"\\udbff\\udbff"'),
  new RawJson('"\\uDFFF\\uD800"'),
];

/** Number tokens at the edges of what JSON parsers do: overflow to Infinity, underflow, -0, beyond 2^53. */
export const EDGE_NUMBER_TOKENS: readonly RawJson[] = ['1e400', '-1e400', '4.9e-325', '-0', '1E2', '0.0e0', '9007199254740993', '123456789012345678901234567890', '1.7976931348623157e308'].map(
  (token) => new RawJson(token),
);

const OTHER_TYPES: readonly Json[] = [null, true, false, 0, -1, 1.5, '', 'x', '1', 'true', [], [1, 'a'], {}, { a: 1 }];

function wrongType(site: Site): fc.Arbitrary<Edit> {
  const current = jsonTypeOf(site.value);
  const others = OTHER_TYPES.filter((candidate) => jsonTypeOf(candidate) !== current);
  return fc.constantFrom(...others).map((value) => ({ label: `wrong type (${jsonTypeOf(value)})`, at: [], value }));
}

function stringEdits(site: Site): fc.Arbitrary<Edit>[] {
  const { schema } = site;
  const edits: fc.Arbitrary<Edit>[] = [
    fc.constantFrom('x', 'é', '😀', "'").map((char) => ({ label: 'huge string', at: [], value: char.repeat(HUGE_STRING_LENGTH / char.length) })),
    fc.constant({ label: 'empty string', at: [], value: '' }),
    fc.constantFrom(...NASTY_STRINGS).map((value) => ({ label: 'nasty string', at: [], value })),
    fc.constantFrom(...UNSTORABLE_STRINGS).map((value) => ({ label: 'NUL or lone surrogate', at: [], value })),
    fc.constantFrom(...UNSTORABLE_STRINGS).map((value) => ({ label: 'NUL or lone surrogate', at: [], value })),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((value) => ({ label: 'control characters', at: [], value })),
  ];
  if (schema.maxLength !== undefined) edits.push(fc.constant({ label: 'one char too long', at: [], value: 'a'.repeat(schema.maxLength + 1) }));
  if (schema.format === 'date-time' || schema.format === 'date') {
    edits.push(
      fc
        .constantFrom('2024-02-30T00:00:00Z', '2024-13-01', '2024-01-01T25:61:61Z', 'now', '0', '2024-01-01T00:00:00', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '2024-1-1')
        .map((value) => ({ label: 'bad date', at: [], value })),
    );
  }
  if (schema.format === 'uuid') {
    edits.push(
      fc
        .constantFrom('not-a-uuid', '0000000-0000-0000-0000-000000000000', '{00000000-0000-0000-0000-000000000000}', '00000000000000000000000000000000', 'g0000000-0000-0000-0000-000000000000')
        .map((value) => ({ label: 'bad uuid', at: [], value })),
    );
  }
  const values = (schema.enum ?? (schema.const === undefined ? [] : [schema.const])).filter((value): value is string => typeof value === 'string');
  if (values.length > 0) {
    edits.push(fc.constantFrom(...values.flatMap((value) => [value.toUpperCase(), value.toLowerCase(), ` ${value}`, `${value}\u0000`])).map((value) => ({ label: 'near-miss enum', at: [], value })));
  }
  return edits;
}

function numberEdits(site: Site): fc.Arbitrary<Edit>[] {
  const { schema } = site;
  const bounds: number[] = [1e308, -1e308, 2 ** 53 + 2, Number.MIN_VALUE, -1, 0];
  if (schema.minimum !== undefined) bounds.push(schema.minimum - 1, schema.minimum - 1e-9);
  if (schema.exclusiveMinimum !== undefined) bounds.push(schema.exclusiveMinimum);
  if (schema.maximum !== undefined) bounds.push(schema.maximum + 1, schema.maximum + 1e-6);
  if (schema.exclusiveMaximum !== undefined) bounds.push(schema.exclusiveMaximum);
  if (typesOf(schema).includes('integer')) bounds.push(0.5, (schema.minimum ?? 0) + 0.5);
  return [
    fc.constantFrom(...bounds).map((value) => ({ label: 'out of range', at: [], value })),
    fc.constantFrom(...EDGE_NUMBER_TOKENS).map((value) => ({ label: 'edge number token', at: [], value })),
  ];
}

function arrayEdits(site: Site): fc.Arbitrary<Edit>[] {
  const { schema } = site;
  const items = site.value as Json[];
  const edits: fc.Arbitrary<Edit>[] = [
    fc.constant({ label: 'empty array', at: [], value: [] }),
    fc.constant({ label: 'array of nulls', at: [], value: [null, null] }),
    fc.constant({ label: 'deeply nested array', at: [], value: nested(50) }),
  ];
  if (schema.maxItems !== undefined && schema.maxItems <= 1000 && items.length > 0) {
    const first = items[0]!;
    edits.push(fc.constant({ label: `maxItems + 1 (${schema.maxItems + 1})`, at: [], value: Array.from({ length: schema.maxItems + 1 }, () => first) }));
  }
  if (schema.uniqueItems && items.length > 0) edits.push(fc.constant({ label: 'duplicate items', at: [], value: [...items, items[0]!] }));
  return edits;
}

const EXTRA_KEYS = ['unexpected', '__proto__', 'constructor', 'prototype', '', 'é', '$where', 'a'.repeat(1000)];

function objectEdits(site: Site): fc.Arbitrary<Edit>[] {
  const { schema } = site;
  const present = Object.keys(site.value as JsonObject);
  const required = (schema.required ?? []).filter((key) => present.includes(key));
  const edits: fc.Arbitrary<Edit>[] = [
    fc.constant({ label: 'empty object', at: [], value: {} }),
    fc.tuple(fc.constantFrom(...EXTRA_KEYS), fc.constantFrom<Json>(1, 'x', null, { admin: true })).map(([key, value]) => ({ label: `extra field ${preview(key, 20)}`, at: [key], value })),
    // Deep nesting goes inside the object, where a free-form schema (event_data) lets it through.
    fc.constantFrom(33, 50, 200).map((levels) => ({ label: `nested ${levels} levels`, at: ['deep'], value: nested(levels) })),
    fc.constant({ label: 'nested 20,000 levels', at: ['deep'], value: VERY_DEEP }),
  ];
  if (required.length > 0) edits.push(fc.constantFrom(...required).map((key) => ({ label: `missing required ${key}`, at: [key], value: REMOVE })));
  if (present.length > 0) {
    // Unstorable text in a key rather than a value.
    edits.push(fc.constant({ label: 'NUL in a key', at: ['k\u0000ey'], value: 1 }));
  }
  return edits;
}

function editsFor(site: Site): fc.Arbitrary<Edit>[] {
  const edits = [wrongType(site)];
  switch (jsonTypeOf(site.value)) {
    case 'string':
      edits.push(...stringEdits(site));
      break;
    case 'integer':
    case 'number':
      edits.push(...numberEdits(site));
      break;
    case 'array':
      edits.push(...arrayEdits(site));
      break;
    case 'object':
      edits.push(...objectEdits(site));
      break;
    default:
      edits.push(fc.constantFrom<Json>('true', 1, 0).map((value) => ({ label: 'boolean lookalike', at: [], value })));
  }
  return edits;
}

/** Invalid variants of one valid value of `schema`: one mutation at one place. */
export function mutationsOf(schema: JsonSchema, valid: Json): fc.Arbitrary<Mutant> {
  const sites = sitesOf(schema, valid);
  return fc.constantFrom(...sites).chain((site) =>
    fc.oneof(...editsFor(site)).map((edit) => {
      const result = replaceAt(valid, [...site.path, ...edit.at], edit.value);
      return { label: `${edit.label} at ${pointerOf([...site.path, ...edit.at])}`, text: result === undefined ? '' : toJsonText(result) };
    }),
  );
}

/** Invalid variants of the values of `schema`. */
export function invalidValue(schema: JsonSchema): fc.Arbitrary<Mutant> {
  return validValue(schema).chain((valid) => mutationsOf(schema, valid));
}

/** JSON text that is not JSON (or barely is), made from valid JSON text. */
export function malformedJson(validText: string): fc.Arbitrary<Mutant> {
  const cut = fc.integer({ min: 0, max: Math.max(0, validText.length - 1) }).map((at) => ({ label: `truncated at ${at}`, text: validText.slice(0, at) }));
  const fixed: Mutant[] = [
    { label: 'trailing comma', text: validText.replace(/}$/, ',}') },
    { label: 'single quotes', text: validText.replaceAll('"', "'") },
    { label: 'unquoted keys', text: validText.replace(/"([A-Za-z_]+)":/g, '$1:') },
    { label: 'comment', text: `/* c */${validText}` },
    { label: 'NaN token', text: validText.replace(/:\s*(-?\d+(\.\d+)?|true|false|null)/, ':NaN') },
    { label: 'Infinity token', text: validText.replace(/:\s*(-?\d+(\.\d+)?|true|false|null)/, ':Infinity') },
    { label: 'hex number', text: validText.replace(/:\s*(\d+)/, ':0x10') },
    { label: 'two documents', text: `${validText}${validText}` },
    { label: 'trailing garbage', text: `${validText}garbage` },
    { label: 'byte order mark', text: `\ufeff${validText}` },
    { label: 'raw newline in a string', text: validText.replace(/"([^"]*)"$/, '"a\nb"') },
    { label: 'bad escape', text: validText.replace(/"$/, '\\x41"') },
    { label: 'lone surrogate escape in a key', text: validText.replace(/^{/, '{"\\ud800":1,') },
    { label: 'duplicate keys', text: validText.replace(/^{("[^"]+"):/, '{$1:null,$1:') },
    { label: 'empty', text: '' },
    { label: 'whitespace', text: ' \n\t ' },
    { label: 'undefined', text: 'undefined' },
    { label: 'null', text: 'null' },
    { label: 'a string', text: '"text"' },
    { label: 'a number', text: '42' },
    { label: 'an array', text: `[${validText}]` },
    { label: 'unclosed deep array', text: '['.repeat(5000) },
    { label: 'very deep array', text: VERY_DEEP.text },
  ];
  return fc.oneof({ weight: 1, arbitrary: cut }, { weight: 4, arbitrary: fc.constantFrom(...fixed) });
}
