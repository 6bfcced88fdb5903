/**
 * Each operation's JSON body bounds, compiled from its request schema in the spec, and the
 * middleware that parses the body with them (src/http/json-body.ts) once the operation is matched
 * and the caller authorized, right before the schema validator. ajv with allErrors validates and
 * reports every item of an array 100 times over its maxItems, and gathers its errors by array
 * concatenation, so its time grows with the square of such a body; the bounds refuse it first, in
 * time linear in what was read, and the validator only ever sees bodies of sizes the spec allows.
 */
import type { RequestHandler } from 'express';
import { matchedOperation } from './dispatch.js';
import { BODY_BYTES_PARSED_IN_TURNS, parseJsonBody, parseJsonBodyInTurns, type ShapeBounds } from './json-body.js';
import { isObject, type LoadedSpec, resolveRef } from './spec.js';

const numberOf = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const smaller = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** Keywords that can make a name valid without listing it in `properties`: an object using them is never closed here. */
const OPENING = ['patternProperties', 'oneOf', 'anyOf', 'if', 'dependentSchemas', 'propertyNames', '$dynamicRef'];

/** Both bounds at once (allOf): the smaller of each count, the union of names, each name's bounds merged. */
function merge(a: ShapeBounds, b: ShapeBounds): ShapeBounds {
  const properties = new Map(a.properties);
  for (const [name, bounds] of b.properties) properties.set(name, properties.has(name) ? merge(properties.get(name)!, bounds) : bounds);
  const items = a.items && b.items ? merge(a.items, b.items) : (a.items ?? b.items);
  const types = a.types && b.types ? a.types.filter((name) => b.types!.includes(name)) : (a.types ?? b.types);
  return {
    ...(types ? { types } : {}),
    maxItems: smaller(a.maxItems, b.maxItems),
    maxLength: smaller(a.maxLength, b.maxLength),
    maxProperties: smaller(a.maxProperties, b.maxProperties),
    maxDepth: smaller(a.maxDepth, b.maxDepth),
    properties,
    ...(items ? { items } : {}),
  };
}

interface Compiled {
  bounds: ShapeBounds;
  /** Whether the schema evaluates names outside `properties` (so an enclosing unevaluatedProperties: false cannot close on them). */
  opens: boolean;
}

function compile(document: unknown, schema: unknown, seen: Set<unknown>): Compiled {
  const node = resolveRef(document, schema);
  // A recursive schema gets no bounds below its first repetition.
  if (!isObject(node) || seen.has(node)) return { bounds: { properties: new Map() }, opens: true };
  seen.add(node);
  const type = node.type;
  let bounds: ShapeBounds = {
    ...(typeof type === 'string' ? { types: [type] } : Array.isArray(type) && type.every((name) => typeof name === 'string') ? { types: type } : {}),
    maxItems: numberOf(node.maxItems),
    maxLength: numberOf(node.maxLength),
    maxProperties: numberOf(node.maxProperties),
    maxDepth: numberOf(node['x-max-depth']),
    properties: new Map(Object.entries(isObject(node.properties) ? node.properties : {}).map(([name, property]) => [name, compile(document, property, seen).bounds])),
    ...(isObject(node.items) ? { items: compile(document, node.items, seen).bounds } : {}),
  };
  const members = Array.isArray(node.allOf) ? node.allOf.map((member) => compile(document, member, seen)) : [];
  for (const member of members) bounds = merge(bounds, member.bounds);
  const additional = node.additionalProperties;
  const opens = OPENING.some((keyword) => keyword in node) || (additional !== undefined && additional !== false) || members.some((member) => member.opens);
  if (!opens && node.unevaluatedProperties === false) {
    // The names of its allOf members count as evaluated: they are merged into `properties`.
    bounds.closed = 'must NOT have unevaluated properties';
  } else if (!OPENING.some((keyword) => keyword in node) && additional === false && members.length === 0) {
    bounds.closed = 'must NOT have additional properties';
  }
  seen.delete(node);
  return { bounds, opens };
}

/** The JSON body bounds of every operation, by operationId. */
export class BodyBounds {
  private readonly byOperation = new Map<string, ShapeBounds>();

  constructor(spec: LoadedSpec) {
    for (const [operationId, { operation }] of spec.operations) {
      const body = operation.requestBody;
      const schema = body && !('$ref' in body) ? body.content['application/json']?.schema : undefined;
      if (schema) this.byOperation.set(operationId, compile(spec.document, schema, new Set()).bounds);
    }
  }

  /** Parses a JSON body (or message) for `operationId` under its bounds. */
  parse(operationId: string, bytes: Uint8Array): object {
    return parseJsonBody(bytes, this.byOperation.get(operationId));
  }

  /** Parses the bytes readJsonBody left, for the matched operation: a large body in turns of the event loop. */
  middleware(): RequestHandler {
    return (req, _res, next) => {
      const operationId = matchedOperation(req)?.schema.operationId;
      const bytes: unknown = req.body;
      if (operationId === undefined || !Buffer.isBuffer(bytes)) return next();
      if (bytes.length < BODY_BYTES_PARSED_IN_TURNS) {
        req.body = this.parse(operationId, bytes);
        return next();
      }
      parseJsonBodyInTurns(bytes, this.byOperation.get(operationId)).then((body) => {
        req.body = body;
        next();
      }, next);
    };
  }
}
