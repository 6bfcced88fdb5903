/**
 * Strict JSON in (I-JSON, RFC 7493): the parser of every JSON request body and /ws/chat message.
 * JSON.parse alone would quietly alter what a client sent (invalid UTF-8 becomes U+FFFD, the last
 * of two equal member names wins, 18446744073709551617 becomes 18446744073709552000, 1e-400
 * becomes 0), so a scan first refuses all of that and names the JSON Pointer where it stopped;
 * then JSON.parse, native and fast, builds the value. Both are linear in the body and the nesting
 * is bounded, whatever the shape. Given the request schema's bounds, the scan also refuses a body
 * past them before anything is built: at once for an array over its maxItems, an object over its
 * maxProperties or a container where the schema allows none; for names a closed object does not
 * list and strings over their maxLength, once there are more than an answer lists. The schema
 * validator then only sees bodies of sizes the spec allows, so its time stays bounded too.
 */
import type { RequestHandler } from 'express';
import express from 'express';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { DomainError, type FieldIssue, MAX_COUNTED_ERRORS, MAX_FIELD_ERRORS } from '../domain/errors.js';

/** Why a text was refused: it is not JSON at all, or it is JSON that would not be stored as sent. */
export type JsonTextFault = 'syntax' | 'not_exact';

export class JsonTextError extends Error {
  override readonly name = 'JsonTextError';
  constructor(
    readonly fault: JsonTextFault,
    message: string,
    /** JSON Pointer (RFC 6901) to the value being read when the parser stopped. */
    readonly pointer: string,
  ) {
    super(message);
  }
}

/**
 * Bodies nest at most this deep (the outermost value is level 1). The deepest the spec accepts is
 * a batch's event_data at its own limit of 32 levels, i.e. 35; the rest is margin. Refusing deeper
 * text here keeps every later walk (the validator's, the storage checks', JSON.stringify's) shallow.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * What the scan checks of a value's size, from its schema (src/http/body-bounds.ts compiles them):
 * necessary conditions only, so it never refuses what the schema accepts.
 */
export interface ShapeBounds {
  /** The JSON types the schema allows; an object or array where it allows neither is refused unread. */
  types?: string[];
  maxItems?: number;
  maxLength?: number;
  maxProperties?: number;
  /** How deep the value may nest, itself being level 1: the spec's `x-max-depth` (JSON Schema has no keyword for it). */
  maxDepth?: number;
  items?: ShapeBounds;
  properties: Map<string, ShapeBounds>;
  /** Set when names outside `properties` are refused: ajv's message for the keyword that closes it. */
  closed?: string;
}

/** Fields found past their bounds: the first MAX_FIELD_ERRORS, and how many in all. */
class Findings {
  readonly issues: FieldIssue[] = [];
  count = 0;
  /** `pointer` is only computed for the issues listed. Past MAX_COUNTED_ERRORS, the scan stops looking. */
  add(pointer: () => string, message: string): void {
    this.count++;
    if (this.issues.length < MAX_FIELD_ERRORS) this.issues.push({ location: 'body', pointer: pointer() || '/', message });
    if (this.count >= MAX_COUNTED_ERRORS) this.refuse();
  }
  refuse(): never {
    throw DomainError.validation(this.issues, this.count);
  }
}

/** Code points, as JSON Schema counts a string's length, without counting strings far from the bound. */
function exceedsLength(value: string, max: number): boolean {
  if (value.length <= max) return false;
  if (value.length > 2 * max) return true;
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) count++;
  }
  return count > max;
}

/** Fatal: any invalid sequence throws. The BOM is dropped only at the start of the text (RFC 8259 allows ignoring it). */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/** Doubles below this are subnormal: fewer significant bits than 15 decimal digits need. */
const MIN_NORMAL = 2.2250738585072014e-308;
/** Any decimal of at most this many significant digits survives a round trip through a double (DBL_DIG). */
const EXACT_DIGITS = 15;

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** A decimal literal as (sign, significant digits, exponent of the first digit): equal values, equal forms. */
function decimalOf(text: string): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return text;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const digits = whole + fraction;
  const first = digits.search(/[1-9]/);
  if (first === -1) return '0';
  return `${sign}${digits.slice(first).replace(/0+$/, '')}e${Number(exponent) + whole.length - first}`;
}

/** Where the first invalid UTF-8 sequence starts, as an offset in the text decoded up to it. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (size === 0 || i + size > bytes.length) break;
    try {
      utf8.decode(bytes.subarray(i, i + size));
    } catch {
      break;
    }
    i += size;
  }
  return lenientUtf8.decode(bytes.subarray(0, i)).length;
}

/**
 * Values parsed here that hold no U+0000: being strict, they hold no unpaired surrogate or infinite
 * number either, so nothing in them needs the storable check (src/http/input-guard.ts), which walks
 * every member (an object of 100,000 members took 40 ms).
 */
const storable = new WeakSet<object>();

/** Whether `value` is a container this parser produced and found storable as it is. */
export const isStorableJson = (value: unknown): boolean => typeof value === 'object' && value !== null && storable.has(value);

/** A text that passed the scan, and whether it holds U+0000. */
interface CheckedText {
  text: string;
  holdsNul: boolean;
}

/** Decodes and scans `bytes`: everything parseStrictJson refuses, refused here, before anything is built. */
function checkText(bytes: Uint8Array, bounds: ShapeBounds | undefined, maxDepth: number): CheckedText {
  let text: string;
  let invalidAt = -1;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = lenientUtf8.decode(bytes);
    invalidAt = firstInvalidUtf8(bytes);
  }
  const findings = new Findings();
  const holdsNul = scan(text, maxDepth, invalidAt, bounds, findings);
  // A few unknown names or long strings are left to the schema validator, which reports them with
  // every other invalid field; more would only make its answer (and its time) grow.
  if (findings.count > MAX_FIELD_ERRORS) findings.refuse();
  return { text, holdsNul };
}

/** Builds the value of a scanned text with JSON.parse, native and fast. */
function build({ text, holdsNul }: CheckedText): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The scan leaves some syntax (a control character in a string, say) to JSON.parse.
    throw new JsonTextError('syntax', error instanceof Error ? error.message.replace(/^Unexpected/, 'unexpected') : 'not JSON', '');
  }
  if (!holdsNul && typeof value === 'object' && value !== null) storable.add(value);
  return value;
}

/**
 * Parses `bytes` (UTF-8) as one JSON value, refusing what I-JSON refuses and what could not be
 * stored exactly: invalid UTF-8, unpaired surrogate escapes, duplicate member names, numbers a
 * double cannot hold as written, and nesting deeper than `maxDepth`.
 */
export function parseStrictJson(bytes: Uint8Array, bounds?: ShapeBounds, maxDepth: number = MAX_JSON_DEPTH): unknown {
  return build(checkText(bytes, bounds, maxDepth));
}

/**
 * Walks the text's structure without building anything: the member names of each open object (to
 * refuse a repeat), every number's digits, `\u` escapes, and the path to the current value.
 * Stops at `invalidAt` (where the bytes were not UTF-8), reporting the path there. Values past
 * `bounds` go to `findings`; an array or object past its count, or a container where the schema
 * allows none, stops the scan at once. Returns whether a string or name holds U+0000 (`\u0000`,
 * the only way JSON text can), which the storable check then reports with the schema's errors.
 */
function scan(text: string, maxDepth: number, invalidAt: number, rootBounds: ShapeBounds | undefined, findings: Findings): boolean {
  const length = text.length;
  const end = invalidAt === -1 ? length : invalidAt;
  let pos = 0;
  /** The first backslash at or after the last string read (unsigned: none is 2^32 − 1); found once, not per string. */
  let nextBackslash = -1;
  /** Per open container: whether it is an object, its member names so far, its current name, its item (or member) count. */
  const objects: boolean[] = [];
  const names: (Set<string> | undefined)[] = [];
  /** Undefined while an object's next member name is being read: the pointer then names the object. */
  const keys: (string | undefined)[] = [];
  const indices: number[] = [];
  /** Per open container, its bounds (undefined: none known). */
  const shapes: (ShapeBounds | undefined)[] = [];
  /** Per open container, the deepest level a container inside it may be at, and the x-max-depth that set it. */
  const depthLimits: number[] = [];
  const depthBounds: number[] = [];
  /** The bounds of the value about to be read. */
  let shape = rootBounds;
  let holdsNul = false;

  const pointer = (): string => {
    let path = '';
    for (let depth = 0; depth < objects.length; depth++) {
      const key = keys[depth];
      if (!objects[depth]) path += `/${indices[depth]}`;
      else if (key !== undefined) path += `/${escapePointer(key)}`;
    }
    return path;
  };
  const fail = (message: string, at = pos): never => {
    throw new JsonTextError('syntax', pos >= end && invalidAt !== -1 ? `invalid UTF-8 at character ${invalidAt}` : `${message} at character ${at}`, pointer());
  };
  const inexact = (message: string): never => {
    throw new JsonTextError('not_exact', message, pointer());
  };
  const describe = (at: number): string => (at >= end ? 'end of text' : `'${text.charAt(at)}'`);

  const skipSpace = () => {
    while (pos < end) {
      const code = text.charCodeAt(pos);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) return;
      pos++;
    }
  };

  const hex4 = (at: number): number => {
    const digits = text.slice(at, at + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(digits)) fail('a \\u escape needs four hex digits', at - 2);
    return Number.parseInt(digits, 16);
  };

  /** Refuses `\u` escapes that leave a surrogate unpaired (the text itself, being UTF-8, has none). */
  const checkEscapes = (from: number, to: number): void => {
    for (let at = text.indexOf('\\', from); at !== -1 && at < to; at = text.indexOf('\\', at)) {
      if (text.charCodeAt(at + 1) !== 0x75) {
        at += 2;
        continue;
      }
      const code = hex4(at + 2);
      at += 6;
      if (code === 0) holdsNul = true;
      if (code >= 0xdc00 && code <= 0xdfff) inexact('must not contain an unpaired UTF-16 surrogate (invalid Unicode)');
      if (code >= 0xd800 && code <= 0xdbff) {
        const low = text.charCodeAt(at) === BACKSLASH && text.charCodeAt(at + 1) === 0x75 ? hex4(at + 2) : -1;
        if (low < 0xdc00 || low > 0xdfff) inexact('must not contain an unpaired UTF-16 surrogate (invalid Unicode)');
        at += 6;
      }
    }
  };

  /** Skips the string starting at the quote at `pos`; its content when `wanted` (else undefined). */
  const readString = (wanted: boolean): string | undefined => {
    const start = pos + 1;
    let close = start;
    for (;;) {
      close = text.indexOf('"', close);
      if (close === -1 || close >= end) {
        pos = end;
        return fail('unterminated string', start - 1);
      }
      let backslashes = 0;
      while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) break;
      close++;
    }
    pos = close + 1;
    if (nextBackslash < start) nextBackslash = text.indexOf('\\', start) >>> 0;
    if (nextBackslash > close) return wanted ? text.slice(start, close) : undefined;
    nextBackslash = -1;
    checkEscapes(start, close);
    if (!wanted) return undefined;
    try {
      return JSON.parse(text.slice(start - 1, close + 1)) as string;
    } catch {
      return fail('invalid string', start - 1);
    }
  };

  const readDigits = (): number => {
    const from = pos;
    while (pos < end) {
      const code = text.charCodeAt(pos);
      if (code < ZERO || code > NINE) break;
      pos++;
    }
    return pos - from;
  };

  /** Skips a number, refusing one a double cannot hold as written. */
  const readNumber = (): void => {
    const start = pos;
    if (text.charCodeAt(pos) === MINUS) pos++;
    const first = text.charCodeAt(pos);
    let digits = 0;
    if (first === ZERO) {
      pos++;
    } else if (first > ZERO && first <= NINE) {
      digits = readDigits();
    } else {
      fail(`invalid number: expected a digit, found ${describe(pos)}`);
    }
    let plain = true;
    if (text.charCodeAt(pos) === DOT) {
      pos++;
      plain = false;
      const fraction = readDigits();
      if (fraction === 0) fail('invalid number: expected a digit after the decimal point');
      digits += fraction;
    }
    let exponent = false;
    const code = text.charCodeAt(pos);
    if (code === 0x65 || code === 0x45) {
      pos++;
      plain = false;
      exponent = true;
      const sign = text.charCodeAt(pos);
      if (sign === PLUS || sign === MINUS) pos++;
      if (readDigits() === 0) fail('invalid number: expected a digit in the exponent');
    }
    // At most 15 digits and no exponent: always exact (a double holds any such integer or decimal).
    if (digits <= EXACT_DIGITS && !exponent) return;
    const literal = text.slice(start, pos);
    const value = Number(literal);
    if (plain) {
      if (!Number.isSafeInteger(value)) inexact(`is an integer beyond ±${Number.MAX_SAFE_INTEGER} (2^53−1), which cannot be stored exactly`);
      return;
    }
    if (!Number.isFinite(value)) inexact('is too large for a double (at most about 1.8e308)');
    const normal = value !== 0 && Math.abs(value) >= MIN_NORMAL;
    if ((!normal || digits > EXACT_DIGITS) && decimalOf(literal) !== decimalOf(String(value))) {
      inexact(value === 0 ? 'is too small for a double: it would be stored as 0' : `has more precision than a double holds: it would be stored as ${String(value)}`);
    }
  };

  const expectWord = (word: string): void => {
    if (!text.startsWith(word, pos) || pos + word.length > end) fail(`unexpected ${describe(pos)}`);
    pos += word.length;
  };

  /** After `{` or `,` in an object: reads `"name":`, refusing a name the object already has. */
  const readMemberName = (): void => {
    skipSpace();
    const depth = objects.length - 1;
    keys[depth] = undefined;
    if (text.charCodeAt(pos) !== QUOTE || pos >= end) fail(`expected a member name in double quotes, found ${describe(pos)}`);
    const name = readString(true)!;
    keys[depth] = name;
    const members = ++indices[depth]!;
    const container = shapes[depth];
    shape = container?.properties.get(name);
    if (container?.maxProperties !== undefined && members > container.maxProperties) {
      findings.add(() => pointer().replace(/\/[^/]*$/, ''), `must NOT have more than ${container.maxProperties} properties`);
      findings.refuse();
    }
    if (shape === undefined && container?.closed !== undefined) {
      // Refused anyway: not worth remembering for the duplicate check.
      findings.add(pointer, container.closed);
    } else {
      // Created on the first name: most objects are small, and many are empty.
      const seen = (names[depth] ??= new Set());
      if (seen.has(name)) inexact('is a duplicate member name (I-JSON allows each name once per object)');
      seen.add(name);
    }
    skipSpace();
    if (text.charCodeAt(pos) !== COLON || pos >= end) fail(`expected ':' after a member name, found ${describe(pos)}`);
    pos++;
  };

  const open = (object: boolean): void => {
    const level = objects.length + 1;
    let limit = depthLimits.at(-1) ?? maxDepth;
    let bound = depthBounds.at(-1) ?? maxDepth;
    if (shape?.maxDepth !== undefined && level - 1 + shape.maxDepth < limit) {
      limit = level - 1 + shape.maxDepth;
      bound = shape.maxDepth;
    }
    if (level > limit) inexact(`is nested deeper than ${bound} levels`);
    const types = shape?.types;
    if (types !== undefined && !types.includes(object ? 'object' : 'array')) {
      findings.add(pointer, `must be ${types.join(',')}`);
      findings.refuse();
    }
    objects.push(object);
    names.push(undefined);
    keys.push(undefined);
    indices.push(0);
    shapes.push(shape);
    depthLimits.push(limit);
    depthBounds.push(bound);
    shape = object ? undefined : shape?.items;
    pos++;
    skipSpace();
  };
  const close = (): void => {
    objects.pop();
    names.pop();
    keys.pop();
    indices.pop();
    shapes.pop();
    depthLimits.pop();
    depthBounds.pop();
    pos++;
  };
  /** The next item of the array at `depth`: refused at once past maxItems, so the rest is never read. */
  const nextItem = (depth: number): void => {
    const index = ++indices[depth]!;
    const container = shapes[depth];
    if (container?.maxItems !== undefined && index >= container.maxItems) {
      findings.add(() => pointer().replace(/\/[^/]*$/, ''), `must NOT have more than ${container.maxItems} items`);
      findings.refuse();
    }
    shape = container?.items;
  };

  for (;;) {
    // A value starts here.
    skipSpace();
    const code = pos < end ? text.charCodeAt(pos) : -1;
    if (code === OPEN_BRACE) {
      open(true);
      if (text.charCodeAt(pos) === CLOSE_BRACE && pos < end) close();
      else {
        readMemberName();
        continue;
      }
    } else if (code === OPEN_BRACKET) {
      open(false);
      if (text.charCodeAt(pos) === CLOSE_BRACKET && pos < end) close();
      else continue;
    } else if (code === QUOTE) {
      const max = shape?.maxLength;
      const value = readString(max !== undefined);
      if (max !== undefined && value !== undefined && exceedsLength(value, max)) findings.add(pointer, `must NOT have more than ${max} characters`);
    } else if (code === 0x74) {
      expectWord('true');
    } else if (code === 0x66) {
      expectWord('false');
    } else if (code === 0x6e) {
      expectWord('null');
    } else if (code === MINUS || (code >= ZERO && code <= NINE)) {
      readNumber();
    } else {
      fail(`expected a JSON value, found ${describe(pos)}`);
    }

    // A value ended: go to the next one in its container, closing the containers that end here.
    for (;;) {
      skipSpace();
      const depth = objects.length - 1;
      if (depth < 0) {
        if (pos < end) fail(`unexpected ${describe(pos)} after the JSON value`);
        if (invalidAt !== -1) fail('');
        return holdsNul;
      }
      const separator = pos < end ? text.charCodeAt(pos) : -1;
      const object = objects[depth]!;
      if (separator === COMMA) {
        pos++;
        if (object) readMemberName();
        else nextItem(depth);
        break;
      }
      if (separator !== (object ? CLOSE_BRACE : CLOSE_BRACKET)) fail(`expected ',' or '${object ? '}' : ']'}', found ${describe(pos)}`);
      close();
    }
  }
}

/** Content types read as JSON; a charset, when given, must be UTF-8 (RFC 8259). */
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Reads a JSON body's bytes (inflating gzip, deflate, br, zstd) up to `limit`, leaving them in
 * `req.body` as a Buffer: they are parsed once the operation is known (src/http/body-bounds.ts),
 * with its bounds, and only for a caller that is allowed to call it.
 */
export function readJsonBody(limit: number): RequestHandler[] {
  const read = express.raw({ limit, type: JSON_TYPES });
  const charset: RequestHandler = (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) return next();
    const declared = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (declared !== undefined && declared !== 'utf-8' && declared !== 'utf8') {
      return next(Object.assign(new Error(`unsupported charset "${declared.toUpperCase()}"; JSON bodies are UTF-8`), { status: 415, expose: true, type: 'charset.unsupported' }));
    }
    next();
  };
  return [read, charset];
}

const asBody = (value: unknown): object => {
  if (value === null || typeof value !== 'object') throw new JsonTextError('syntax', 'the body must be a JSON object or array', '');
  return value;
};

/** A JSON body as the handlers see it: an object or an array (an empty body reads as `{}`, as body-parser did). */
export function parseJsonBody(bytes: Uint8Array, bounds: ShapeBounds | undefined): object {
  return bytes.length === 0 ? {} : asBody(parseStrictJson(bytes, bounds));
}

/**
 * From this size on, a body is parsed in turns of the event loop: the scan, then JSON.parse, each
 * about 25 to 40 ms for 1 MB of small members, where both in one go held it for twice that.
 */
export const BODY_BYTES_PARSED_IN_TURNS = 64 * 1024;

/** parseJsonBody with the event loop's turn between the scan and the build, and after it. */
export async function parseJsonBodyInTurns(bytes: Uint8Array, bounds: ShapeBounds | undefined): Promise<object> {
  const checked = checkText(bytes, bounds, MAX_JSON_DEPTH);
  await yieldToEventLoop();
  const body = asBody(build(checked));
  await yieldToEventLoop();
  return body;
}
