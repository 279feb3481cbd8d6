/**
 * Whether a JSON value is a CheckRequest in proto3 JSON form (the protobuf JSON mapping),
 * checked against Envoy's official descriptors: `mandate check` takes its request in that
 * form, and SPEC section 3 gives bad input exit 2. Without this check a misspelt field
 * (`"contextExtension"`) or a wrong type (`"principal": 5`) silently read as absent, and the
 * command answered a different question than the one asked.
 *
 * Follows the mapping's rules where a parser would refuse: unknown fields, wrong JSON types,
 * integers out of range, enum names the enum lacks, malformed bytes, Timestamp and Duration
 * strings. `null` stands for an absent field. Lenient where descriptors as proto-loader
 * gives them cannot tell (oneof membership is not checked).
 */
import { ProtoDescriptors, type DescriptorField as Field, type DescriptorMessage } from './descriptors.js';
import { loadExtAuthzDefinition } from './protos.js';

/** The first errors are enough to fix the input; a hostile one could have millions. */
const MAX_ERRORS = 10;

const INT32 = new Set(['TYPE_INT32', 'TYPE_SINT32', 'TYPE_SFIXED32']);
const UINT32 = new Set(['TYPE_UINT32', 'TYPE_FIXED32']);
const INT64 = new Set(['TYPE_INT64', 'TYPE_SINT64', 'TYPE_SFIXED64']);
const UINT64 = new Set(['TYPE_UINT64', 'TYPE_FIXED64']);
const WRAPPERS: Readonly<Record<string, string>> = {
  'google.protobuf.DoubleValue': 'TYPE_DOUBLE',
  'google.protobuf.FloatValue': 'TYPE_FLOAT',
  'google.protobuf.Int64Value': 'TYPE_INT64',
  'google.protobuf.UInt64Value': 'TYPE_UINT64',
  'google.protobuf.Int32Value': 'TYPE_INT32',
  'google.protobuf.UInt32Value': 'TYPE_UINT32',
  'google.protobuf.BoolValue': 'TYPE_BOOL',
  'google.protobuf.StringValue': 'TYPE_STRING',
  'google.protobuf.BytesValue': 'TYPE_BYTES',
};
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$|^[A-Za-z0-9_-]*$/;
const TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$/;
const DURATION = /^-?[0-9]+(?:\.[0-9]{1,9})?s$/;

/** The name proto3 JSON uses for a field: lowerCamelCase of its proto name. */
function jsonNameOf(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A message's fields by proto name and by JSON name, built once per message. */
const fieldsByName = new WeakMap<DescriptorMessage, ReadonlyMap<string, Field>>();
function fieldsOf(m: DescriptorMessage): ReadonlyMap<string, Field> {
  let byName = fieldsByName.get(m);
  if (byName === undefined) {
    const built = new Map<string, Field>();
    for (const f of m.field) {
      built.set(f.name, f);
      built.set(jsonNameOf(f.name), f);
    }
    fieldsByName.set(m, (byName = built));
  }
  return byName;
}

let descriptors: ProtoDescriptors | null = null;

const CHECK_REQUEST = 'envoy.service.auth.v3.CheckRequest';

/** The ways `value` is not a CheckRequest in proto3 JSON form (at most MAX_ERRORS); empty when it is one. */
export function checkRequestJsonErrors(value: unknown): string[] {
  descriptors ??= new ProtoDescriptors(loadExtAuthzDefinition());
  const errors: string[] = [];
  new Walker(descriptors, errors).message(CHECK_REQUEST, value, '');
  return errors;
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

class Walker {
  constructor(
    private readonly d: ProtoDescriptors,
    private readonly errors: string[],
  ) {}

  /** A field's type by full name; an unknown one keeps its written name (and is not checked). */
  private typeOf(scope: string, typeName: string): string {
    return this.d.resolve(scope, typeName) ?? typeName;
  }

  private fail(at: string, what: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(`${at === '' ? '(the request)' : at}: ${what}`);
  }

  message(fullName: string, v: unknown, at: string): void {
    if (this.errors.length >= MAX_ERRORS) return;
    if (fullName in WRAPPERS) return this.scalar(WRAPPERS[fullName]!, '', '', v, at);
    switch (fullName) {
      case 'google.protobuf.Value':
        return; // any JSON value
      case 'google.protobuf.Struct':
        if (jsonType(v) !== 'object') this.fail(at, `expected an object (Struct), got ${jsonType(v)}`);
        return;
      case 'google.protobuf.ListValue':
        if (!Array.isArray(v)) this.fail(at, `expected an array (ListValue), got ${jsonType(v)}`);
        return;
      case 'google.protobuf.Timestamp':
        if (typeof v !== 'string' || !TIMESTAMP.test(v) || Number.isNaN(Date.parse(v.toUpperCase()))) this.fail(at, 'expected an RFC 3339 date-time string (Timestamp)');
        return;
      case 'google.protobuf.Duration':
        if (typeof v !== 'string' || !DURATION.test(v)) this.fail(at, 'expected a duration string such as "1.5s" (Duration)');
        return;
      case 'google.protobuf.Any':
        if (jsonType(v) !== 'object' || typeof (v as Record<string, unknown>)['@type'] !== 'string') this.fail(at, 'expected an object with an "@type" string (Any)');
        return;
    }
    const m = this.d.messages.get(fullName);
    if (m === undefined) return; // not in Envoy's descriptors: nothing to check against
    if (jsonType(v) !== 'object') {
      this.fail(at, `expected an object (${fullName.split('.').pop() ?? fullName}), got ${jsonType(v)}`);
      return;
    }
    const byName = fieldsOf(m);
    const seen = new Set<number>();
    for (const [key, fv] of Object.entries(v as Record<string, unknown>)) {
      const path = at === '' ? key : `${at}.${key}`;
      const f = byName.get(key);
      if (f === undefined) {
        this.fail(path, 'unknown field');
        continue;
      }
      if (seen.has(f.number)) {
        this.fail(path, `field ${f.name} given twice (as ${f.name} and ${jsonNameOf(f.name)})`);
        continue;
      }
      seen.add(f.number);
      if (fv === null) continue; // null is the field's default
      this.field(fullName, f, fv, path);
    }
  }

  private field(scope: string, f: Field, v: unknown, at: string): void {
    const target = f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_ENUM' ? this.typeOf(scope, f.typeName) : '';
    const entry = f.type === 'TYPE_MESSAGE' ? this.d.messages.get(target) : undefined;
    if (entry?.options?.mapEntry === true) {
      if (jsonType(v) !== 'object') {
        this.fail(at, `expected an object (map), got ${jsonType(v)}`);
        return;
      }
      const key = entry.field.find((x) => x.number === 1);
      const value = entry.field.find((x) => x.number === 2);
      if (key === undefined || value === undefined) return;
      for (const [k, ev] of Object.entries(v as Record<string, unknown>)) {
        if (key.type !== 'TYPE_STRING') this.scalar(key.type, '', '', key.type === 'TYPE_BOOL' ? (k === 'true' ? true : k === 'false' ? false : k) : k, `${at}[${JSON.stringify(k)}]`);
        this.single(target, value, ev, `${at}[${JSON.stringify(k)}]`);
      }
      return;
    }
    if (f.label === 'LABEL_REPEATED') {
      if (!Array.isArray(v)) {
        this.fail(at, `expected an array, got ${jsonType(v)}`);
        return;
      }
      v.forEach((x, i) => this.single(scope, f, x, `${at}[${i}]`));
      return;
    }
    this.single(scope, f, v, at);
  }

  /** One value of field `f` (an element, a map value, or the field itself). */
  private single(scope: string, f: Field, v: unknown, at: string): void {
    if (f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_GROUP') {
      this.message(this.typeOf(scope, f.typeName), v, at);
      return;
    }
    this.scalar(f.type, scope, f.typeName, v, at);
  }

  private scalar(type: string, scope: string, typeName: string, v: unknown, at: string): void {
    switch (type) {
      case 'TYPE_STRING':
        if (typeof v !== 'string') this.fail(at, `expected a string, got ${jsonType(v)}`);
        return;
      case 'TYPE_BOOL':
        if (typeof v !== 'boolean') this.fail(at, `expected true or false, got ${jsonType(v)}`);
        return;
      case 'TYPE_BYTES':
        if (typeof v !== 'string' || !BASE64.test(v)) this.fail(at, 'expected base64 text (bytes)');
        return;
      case 'TYPE_DOUBLE':
      case 'TYPE_FLOAT':
        if (typeof v === 'number' || (typeof v === 'string' && (v === 'NaN' || v === 'Infinity' || v === '-Infinity' || (v.trim() !== '' && Number.isFinite(Number(v)))))) return;
        this.fail(at, `expected a number, got ${jsonType(v)}`);
        return;
      case 'TYPE_ENUM': {
        const e = this.d.enums.get(this.typeOf(scope, typeName));
        if (e === undefined) return;
        if (typeof v === 'string' ? e.value.some((x) => x.name === v) : Number.isInteger(v)) return;
        this.fail(at, `expected one of ${e.value.map((x) => x.name).join(', ')}`);
        return;
      }
    }
    const range = INT32.has(type) ? [-(2 ** 31), 2 ** 31 - 1] : UINT32.has(type) ? [0, 2 ** 32 - 1] : INT64.has(type) ? [-(2n ** 63n), 2n ** 63n - 1n] : UINT64.has(type) ? [0n, 2n ** 64n - 1n] : null;
    if (range === null) return;
    const n = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'string' && INTEGER_TEXT.test(v) ? BigInt(v) : null;
    if (n === null || n < BigInt(range[0]!) || n > BigInt(range[1]!)) {
      this.fail(at, `expected an integer in ${String(range[0])}..${String(range[1])}`);
    }
  }
}
