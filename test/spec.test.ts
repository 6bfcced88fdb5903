import { describe, expect, it } from 'vitest';
import type { OpenApiOperation } from '../src/http/spec.js';
import { ajv, spec } from './support/contract.js';

interface MediaTypeObject {
  schema?: object;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
/** What these checks read of an operation: the bundled spec has no $ref at these places. */
type OperationDetails = Omit<OpenApiOperation, 'requestBody' | 'responses'> & {
  requestBody?: { content: Record<string, MediaTypeObject> };
  responses: Record<string, { content?: Record<string, MediaTypeObject> }>;
};

const operations = [...spec.operations.values()].map(({ method, path, operation }) => ({ method, path, operation: operation as OperationDetails }));

/** Every example in the document, with the schema it must satisfy and where it sits. */
function collectExamples(): { where: string; schema: object; value: unknown }[] {
  const found: { where: string; schema: object; value: unknown }[] = [];
  const visit = (node: unknown, where: string) => {
    if (typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) return node.forEach((child, index) => visit(child, `${where}/${index}`));
    const record = node as Record<string, unknown>;
    const schema = record.schema;
    if (typeof schema === 'object' && schema !== null) {
      if ('example' in record) found.push({ where: `${where}/example`, schema, value: record.example });
      for (const [name, example] of Object.entries((record.examples as Record<string, { value?: unknown }>) ?? {})) {
        if (example && typeof example === 'object' && 'value' in example) found.push({ where: `${where}/examples/${name}`, schema, value: example.value });
      }
    }
    for (const [key, child] of Object.entries(record)) visit(child, `${where}/${key}`);
  };
  visit(spec.document.paths, '#/paths');
  visit(spec.document.components, '#/components');
  return found;
}

function schemaExamples(): { where: string; schema: object; value: unknown }[] {
  const schemas = (spec.document.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
  return Object.entries(schemas).flatMap(([name, schema]) => [
    ...('example' in schema ? [{ where: `#/components/schemas/${name}/example`, schema: { $ref: `spec#/components/schemas/${name}` }, value: schema.example }] : []),
    ...((schema.examples as unknown[] | undefined) ?? []).map((value, index) => ({
      where: `#/components/schemas/${name}/examples/${index}`,
      schema: { $ref: `spec#/components/schemas/${name}` },
      value,
    })),
  ]);
}

/** Rewrites local refs so Ajv resolves them against the registered spec. */
function resolvable(schema: object): object {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"spec#/components/'));
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1', () => {
    expect(spec.document.openapi).toBe('3.1.0');
  });

  it.each(operations.map((entry) => [`${entry.method.toUpperCase()} ${entry.path}`, entry] as const))(
    '%s is fully described',
    (_name, { operation }) => {
      expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect(operation.summary?.length).toBeGreaterThan(3);
      expect(operation.description?.length).toBeGreaterThan(10);
      expect(operation.tags?.length).toBeGreaterThan(0);
      expect(Array.isArray(operation.security)).toBe(true);
      expect(operation.responses['500']).toBeDefined();
      expect(operation.responses['400']).toBeDefined();
      const bodies = [
        ...Object.values(operation.requestBody?.content ?? {}),
        ...Object.values(operation.responses).flatMap((response) => Object.values(response.content ?? {})),
      ];
      for (const media of bodies) expect(media.example !== undefined || media.examples !== undefined).toBe(true);
      if ((operation.security ?? []).length > 0) {
        for (const status of ['401', '403', '429']) expect(operation.responses[status], status).toBeDefined();
      }
    },
  );

  it('describes every schema and every field', () => {
    const missing: string[] = [];
    const visit = (schema: Record<string, unknown>, where: string) => {
      if ('$ref' in schema) return;
      const composite = ['allOf', 'oneOf', 'anyOf'].some((key) => key in schema);
      if (typeof schema.description !== 'string' && !composite) missing.push(where);
      for (const [name, property] of Object.entries((schema.properties as Record<string, Record<string, unknown>>) ?? {})) {
        if (typeof property.description !== 'string' && !('$ref' in property)) missing.push(`${where}.${name}`);
        visit(property, `${where}.${name}`);
      }
      for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
        ((schema[key] as Record<string, unknown>[] | undefined) ?? []).forEach((part, index) => {
          if (!('$ref' in part) && part.type === 'object') visitFields(part, `${where}.${key}[${index}]`);
        });
      }
      const items = schema.items as Record<string, unknown> | undefined;
      if (items && !('$ref' in items) && items.type === 'object') visit(items, `${where}[]`);
    };
    const visitFields = (schema: Record<string, unknown>, where: string) => {
      for (const [name, property] of Object.entries((schema.properties as Record<string, Record<string, unknown>>) ?? {})) {
        if (typeof property.description !== 'string' && !('$ref' in property)) missing.push(`${where}.${name}`);
      }
    };
    const schemas = (spec.document.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
    for (const [name, schema] of Object.entries(schemas)) visit(schema, name);
    expect(missing).toEqual([]);
  });

  it('has examples that validate against their schemas', () => {
    const examples = [...collectExamples(), ...schemaExamples()];
    expect(examples.length).toBeGreaterThan(50);
    const failures = examples.flatMap(({ where, schema, value }) => {
      const validate = ajv.compile(resolvable(schema));
      return validate(value) ? [] : [`${where}: ${ajv.errorsText(validate.errors)}`];
    });
    expect(failures).toEqual([]);
  });
});
