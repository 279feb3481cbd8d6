/**
 * A strict checker of Envoy configuration against Envoy's own protos (the `deps/envoy-api` tree that
 * @grpc/grpc-js-xds ships), with the proto3 JSON mapping Envoy applies to YAML.
 *
 * Why not protobufjs `fromObject`: it drops keys it does not know and coerces wrong types, so a typo'd
 * field would pass. Envoy itself refuses unknown fields, so this walks the message types and fails on
 * every key that is not a field (snake_case or lowerCamel), on wrong scalar types, unknown enum names,
 * malformed Durations, and on `Any` values whose `@type` is not a known message — each `Any` is checked
 * recursively against the type it names. It is stricter than Envoy in two ways, on purpose for shipped
 * files: deprecated fields and enum values are errors, and `null` is only accepted where JSON null is a
 * value (`google.protobuf.Value`). A few protoc-gen-validate rules that catch half-written configs are
 * applied too: required messages and oneofs, string `min_len`, repeated `min_items`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import { envoyProtoDirs as extAuthzProtoDirs } from '../../src/envoy/protos.js';

export type ConfigPath = ReadonlyArray<string | number>;

export interface SchemaProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';

// google.protobuf wrappers are written as their bare scalar in proto3 JSON.
const WRAPPERS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

// Types whose proto3 JSON form is not an object of their fields.
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  '.google.protobuf.Duration',
  '.google.protobuf.Timestamp',
  '.google.protobuf.FieldMask',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
]);

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER_STRING = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The directories holding Envoy's official protos and what they import. */
export function envoyProtoDirs(): string[] {
  const require = createRequire(import.meta.url);
  return [
    ...extAuthzProtoDirs(),
    // google/protobuf/descriptor.proto, imported by the annotation protos.
    path.dirname(require.resolve('protobufjs/package.json')),
  ];
}

export class EnvoySchema {
  private readonly root: protobuf.Root;
  private readonly fieldIndex = new Map<protobuf.Type, Map<string, protobuf.Field>>();
  private readonly triedPackages = new Set<string>();

  private constructor(private readonly dirs: readonly string[]) {
    this.root = new protobuf.Root();
    this.root.resolvePath = (_origin: string, target: string): string | null => this.find(target);
  }

  /** Loads the Bootstrap message and everything it imports; `Any` payload types load on demand. */
  static load(dirs: readonly string[] = envoyProtoDirs()): EnvoySchema {
    const schema = new EnvoySchema(dirs);
    schema.loadFiles(['envoy/config/bootstrap/v3/bootstrap.proto']);
    return schema;
  }

  /** Every problem of `value` read as the proto3 JSON form of `typeName`; empty when it is valid. */
  check(typeName: string, value: unknown): SchemaProblem[] {
    const type = this.lookupMessage(typeName);
    if (type === null) return [{ path: [], message: `unknown message type ${typeName}` }];
    const out: SchemaProblem[] = [];
    this.checkMessage(type, value, [], out);
    return out;
  }

  /** The message type named by an `Any` type URL, loading its package when needed; null if none. */
  resolveTypeUrl(typeUrl: string): protobuf.Type | null {
    if (!typeUrl.startsWith(TYPE_URL_PREFIX)) return null;
    return this.lookupMessage(typeUrl.slice(TYPE_URL_PREFIX.length));
  }

  private find(relative: string): string | null {
    for (const dir of this.dirs) {
      const candidate = path.join(dir, relative);
      if (fs.existsSync(candidate)) return candidate;
    }
    return null;
  }

  private loadFiles(files: string[]): void {
    this.root.loadSync(files, { keepCase: true });
    this.root.resolveAll();
  }

  private lookupMessage(name: string): protobuf.Type | null {
    const found = this.lookupLoaded(name);
    if (found !== null) return found;
    // Envoy's protos live in one directory per package: load the package that could hold the name
    // (the longest prefix first, since a message can be nested in another).
    const parts = name.split('.');
    for (let cut = parts.length - 1; cut > 0; cut--) {
      const pkg = parts.slice(0, cut).join('.');
      if (this.triedPackages.has(pkg)) continue;
      this.triedPackages.add(pkg);
      const rel = pkg.replaceAll('.', '/');
      const dir = this.find(rel);
      if (dir === null || !fs.statSync(dir).isDirectory()) continue;
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).map((f) => `${rel}/${f}`);
      if (files.length === 0) continue;
      this.loadFiles(files);
      const loaded = this.lookupLoaded(name);
      if (loaded !== null) return loaded;
    }
    return null;
  }

  private lookupLoaded(name: string): protobuf.Type | null {
    const found = this.root.lookup(`.${name}`);
    return found instanceof protobuf.Type ? found : null;
  }

  private fieldsOf(type: protobuf.Type): Map<string, protobuf.Field> {
    let index = this.fieldIndex.get(type);
    if (index === undefined) {
      index = new Map();
      for (const field of type.fieldsArray) {
        index.set(field.name, field);
        index.set(lowerCamel(field.name), field);
        const jsonName = field.options?.['json_name'];
        if (typeof jsonName === 'string') index.set(jsonName, field);
      }
      this.fieldIndex.set(type, index);
    }
    return index;
  }

  private checkMessage(type: protobuf.Type, value: unknown, at: ConfigPath, out: SchemaProblem[]): void {
    const name = type.fullName;
    if (SPECIAL_JSON.has(name)) {
      this.checkSpecial(name, value, at, out);
      return;
    }
    if (!isPlainObject(value)) {
      out.push({ path: at, message: `expected an object for ${name.slice(1)}, got ${describe(value)}` });
      return;
    }
    if (name === '.google.protobuf.Any') {
      this.checkAny(value, at, out);
      return;
    }
    this.checkFields(type, value, at, out, new Set());
  }

  private checkFields(
    type: protobuf.Type,
    value: Record<string, unknown>,
    at: ConfigPath,
    out: SchemaProblem[],
    skip: ReadonlySet<string>,
  ): void {
    const fields = this.fieldsOf(type);
    const set = new Set<protobuf.Field>();
    for (const [key, child] of Object.entries(value)) {
      if (skip.has(key)) continue;
      const where = [...at, key];
      const field = fields.get(key);
      if (field === undefined) {
        out.push({ path: where, message: `unknown field "${key}" in ${type.fullName.slice(1)}` });
        continue;
      }
      if (set.has(field)) {
        out.push({ path: where, message: `field ${field.name} given twice (snake_case and lowerCamel)` });
        continue;
      }
      set.add(field);
      if (field.options?.['deprecated'] === true) {
        out.push({ path: where, message: `field ${field.name} of ${type.fullName.slice(1)} is deprecated` });
      }
      this.checkField(field, child, where, out);
    }
    for (const oneof of type.oneofsArray) {
      const present = oneof.fieldsArray.filter((f) => set.has(f));
      if (present.length > 1) {
        out.push({ path: at, message: `only one of ${oneof.oneof.join(', ')} may be set, got ${present.map((f) => f.name).join(' and ')}` });
      } else if (present.length === 0 && oneof.options?.['(validate.required)'] === true) {
        out.push({ path: at, message: `one of ${oneof.oneof.join(', ')} is required in ${type.fullName.slice(1)}` });
      }
    }
    for (const field of type.fieldsArray) {
      // PGV applies `required` to a oneof member only when that member is the one set.
      if (!set.has(field) && field.partOf === null && field.options?.['(validate.rules).message.required'] === true) {
        out.push({ path: at, message: `field ${field.name} is required in ${type.fullName.slice(1)}` });
      }
    }
  }

  private checkField(field: protobuf.Field, value: unknown, at: ConfigPath, out: SchemaProblem[]): void {
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) {
        out.push({ path: at, message: `expected a map for ${field.name}, got ${describe(value)}` });
        return;
      }
      for (const [key, child] of Object.entries(value)) {
        if (field.keyType !== 'string' && field.keyType !== 'bool' && !INTEGER_STRING.test(key)) {
          out.push({ path: [...at, key], message: `map key "${key}" is not a ${field.keyType}` });
        }
        this.checkSingle(field, child, [...at, key], out);
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) {
        out.push({ path: at, message: `expected a list for ${field.name}, got ${describe(value)}` });
        return;
      }
      const minItems = field.options?.['(validate.rules).repeated.min_items'];
      if (typeof minItems === 'number' && value.length < minItems) {
        out.push({ path: at, message: `${field.name} needs at least ${minItems} item(s)` });
      }
      value.forEach((child, i) => this.checkSingle(field, child, [...at, i], out));
      return;
    }
    this.checkSingle(field, value, at, out);
  }

  private checkSingle(field: protobuf.Field, value: unknown, at: ConfigPath, out: SchemaProblem[]): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) {
      if (value === null && resolved.fullName !== '.google.protobuf.Value') {
        out.push({ path: at, message: `null is not a value for ${field.name}; leave the field out instead` });
        return;
      }
      this.checkMessage(resolved, value, at, out);
      return;
    }
    if (resolved instanceof protobuf.Enum) {
      this.checkEnum(resolved, value, at, out);
      return;
    }
    this.checkScalar(field.type, value, at, out, field.name);
    const minLen = field.options?.['(validate.rules).string.min_len'];
    if (typeof minLen === 'number' && typeof value === 'string' && value.length < minLen) {
      out.push({ path: at, message: `${field.name} must be at least ${minLen} character(s)` });
    }
  }

  private checkEnum(type: protobuf.Enum, value: unknown, at: ConfigPath, out: SchemaProblem[]): void {
    if (type.fullName === '.google.protobuf.NullValue' && value === null) return;
    let name: string | undefined;
    if (typeof value === 'string') {
      name = Object.prototype.hasOwnProperty.call(type.values, value) ? value : undefined;
    } else if (typeof value === 'number' && Number.isInteger(value)) {
      name = type.valuesById[value];
    }
    if (name === undefined) {
      out.push({ path: at, message: `${describe(value)} is not a value of enum ${type.fullName.slice(1)} (${Object.keys(type.values).join(', ')})` });
      return;
    }
    if (type.valuesOptions?.[name]?.['deprecated'] === true) {
      out.push({ path: at, message: `enum value ${name} of ${type.fullName.slice(1)} is deprecated` });
    }
  }

  private checkScalar(kind: string, value: unknown, at: ConfigPath, out: SchemaProblem[], what: string): void {
    const bad = (expected: string): void => {
      out.push({ path: at, message: `${what} expects ${expected}, got ${describe(value)}` });
    };
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') bad('a string');
        return;
      case 'bool':
        if (typeof value !== 'boolean') bad('true or false');
        return;
      case 'bytes':
        if (typeof value !== 'string' || !BASE64.test(value)) bad('base64 text');
        return;
      case 'double':
      case 'float':
        if (typeof value === 'number' && Number.isFinite(value)) return;
        if (typeof value === 'string' && (['NaN', 'Infinity', '-Infinity'].includes(value) || Number.isFinite(Number(value)))) return;
        bad('a number');
        return;
      case 'int32':
      case 'sint32':
      case 'sfixed32':
        if (!this.integerIn(value, -(2 ** 31), 2 ** 31 - 1)) bad('a 32-bit integer');
        return;
      case 'uint32':
      case 'fixed32':
        if (!this.integerIn(value, 0, 2 ** 32 - 1)) bad('an unsigned 32-bit integer');
        return;
      case 'int64':
      case 'sint64':
      case 'sfixed64':
        if (!this.integerIn(value, -(2n ** 63n), 2n ** 63n - 1n)) bad('a 64-bit integer');
        return;
      case 'uint64':
      case 'fixed64':
        if (!this.integerIn(value, 0, 2n ** 64n - 1n)) bad('an unsigned 64-bit integer');
        return;
      default:
        out.push({ path: at, message: `unsupported scalar type ${kind}` });
    }
  }

  private integerIn(value: unknown, min: number | bigint, max: number | bigint): boolean {
    let n: bigint;
    if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
    else if (typeof value === 'string' && INTEGER_STRING.test(value)) n = BigInt(value);
    else return false;
    return n >= BigInt(min) && n <= BigInt(max);
  }

  private checkSpecial(name: string, value: unknown, at: ConfigPath, out: SchemaProblem[]): void {
    const wrapped = WRAPPERS[name];
    if (wrapped !== undefined) {
      this.checkScalar(wrapped, value, at, out, name.slice(1));
      return;
    }
    switch (name) {
      case '.google.protobuf.Duration':
        if (typeof value !== 'string' || !DURATION.test(value)) {
          out.push({ path: at, message: `a Duration is written like "0.25s", got ${describe(value)}` });
        }
        return;
      case '.google.protobuf.Timestamp':
        if (typeof value !== 'string' || !TIMESTAMP.test(value)) {
          out.push({ path: at, message: `a Timestamp is RFC 3339 text, got ${describe(value)}` });
        }
        return;
      case '.google.protobuf.FieldMask':
        if (typeof value !== 'string') out.push({ path: at, message: `a FieldMask is text, got ${describe(value)}` });
        return;
      case '.google.protobuf.Struct':
        if (!isPlainObject(value)) out.push({ path: at, message: `a Struct is an object, got ${describe(value)}` });
        return;
      case '.google.protobuf.ListValue':
        if (!Array.isArray(value)) out.push({ path: at, message: `a ListValue is a list, got ${describe(value)}` });
        return;
      default:
        // google.protobuf.Value: any JSON value.
        return;
    }
  }

  private checkAny(value: Record<string, unknown>, at: ConfigPath, out: SchemaProblem[]): void {
    const typeUrl = value['@type'];
    if (typeof typeUrl !== 'string') {
      out.push({ path: at, message: 'an Any needs an "@type"' });
      return;
    }
    const type = this.resolveTypeUrl(typeUrl);
    if (type === null) {
      out.push({ path: [...at, '@type'], message: `unknown @type ${typeUrl} (expected ${TYPE_URL_PREFIX}<a message of Envoy's API>)` });
      return;
    }
    if (SPECIAL_JSON.has(type.fullName)) {
      const extra = Object.keys(value).filter((k) => k !== '@type' && k !== 'value');
      for (const key of extra) out.push({ path: [...at, key], message: `unknown field "${key}" in an Any of ${type.fullName.slice(1)}` });
      this.checkSpecial(type.fullName, value['value'], [...at, 'value'], out);
      return;
    }
    this.checkFields(type, value, at, out, new Set(['@type']));
  }
}
