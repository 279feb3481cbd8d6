/**
 * CheckRequest bytes → the part of the message extractFacts reads, without proto-loader's
 * full decode (issue 9: 14.6% of the server's CPU at 2,000 checks/s went to decoding
 * every field of every CheckRequest, most of which the decision never looks at).
 *
 * The output is the same plain object proto-loader's deserialize gives (LOADER_OPTIONS:
 * keepCase, defaults false), restricted to these fields:
 *
 *   attributes.source.{principal,certificate}, attributes.destination.principal,
 *   attributes.request.http.{method,path,host,headers,header_map.headers[].{key,value,raw_value}},
 *   attributes.context_extensions
 *
 * A sub-message present on the wire is present in the output even when empty (facts.ts
 * tells "no http" from "empty http"); a map or repeated field only when it has entries.
 * The server's decoder (createCheckRequestDecoder) also leaves out every HTTP header the
 * decision does not read, without decoding it: Envoy sends all request headers, facts.ts
 * reads eight.
 *
 * Equivalence with protobufjs (the oracle) is kept by never guessing: every field the
 * official protos declare is checked against its declared wire type, every skipped
 * sub-message is walked with its own schema (protobufjs decodes it, and a malformed one
 * makes protobufjs throw), and anything where protobufjs 7 reads differently from a plain
 * wire walk — a declared field with another wire type, an over-long varint, a length past
 * its message, a `__proto__` map key, a message-valued map entry without its value, deep
 * nesting, packed repeated scalars — falls back to proto-loader's own deserialize. So on
 * any input the result is exactly today's: the same object, or the same exception.
 */
import type * as protoLoader from '@grpc/proto-loader';
import { ProtoDescriptors } from './descriptors.js';
import { checkMethodDefinition, loadExtAuthzDefinition } from './protos.js';

// ---------------------------------------------------------------------------------------
// Schema of every message reachable from CheckRequest, derived from the loaded descriptors
// (the same ones proto-loader decodes with), so no field number is typed in by hand except
// the few this file extracts, and those are checked against the descriptors when prepared.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_FIXED32 = 5;

interface FieldSpec {
  readonly name: string;
  readonly type: string;
  /** The wire type protobufjs's reader assumes for this field (it never checks the tag's). */
  readonly wire: number;
  /** A varint read by protobufjs's 64-bit reader (up to 10 bytes) rather than uint32(). */
  readonly long: boolean;
  readonly repeated: boolean;
  /** Repeated numeric scalar: protobufjs also accepts it packed (we fall back instead). */
  readonly packable: boolean;
  /** TYPE_GROUP: not in proto3 files; any occurrence falls back. */
  readonly group: boolean;
  /** Resolved later (types refer to each other). */
  message: MessageSchema | null;
  map: MapSchema | null;
}

interface MapSchema {
  readonly key: FieldSpec;
  readonly value: FieldSpec;
}

interface MessageSchema {
  readonly fullName: string;
  readonly fields: Map<number, FieldSpec>;
  readonly oneofs: number;
}

const LONG_TYPES = new Set(['TYPE_INT64', 'TYPE_UINT64', 'TYPE_SINT64']);
const VARINT32_TYPES = new Set(['TYPE_INT32', 'TYPE_UINT32', 'TYPE_SINT32', 'TYPE_BOOL', 'TYPE_ENUM']);
const FIXED64_TYPES = new Set(['TYPE_DOUBLE', 'TYPE_FIXED64', 'TYPE_SFIXED64']);
const FIXED32_TYPES = new Set(['TYPE_FLOAT', 'TYPE_FIXED32', 'TYPE_SFIXED32']);
const LEN_TYPES = new Set(['TYPE_STRING', 'TYPE_BYTES', 'TYPE_MESSAGE']);

function wireOf(type: string): number {
  if (LONG_TYPES.has(type) || VARINT32_TYPES.has(type)) return WIRE_VARINT;
  if (FIXED64_TYPES.has(type)) return WIRE_FIXED64;
  if (FIXED32_TYPES.has(type)) return WIRE_FIXED32;
  if (LEN_TYPES.has(type)) return WIRE_LEN;
  if (type === 'TYPE_GROUP') return WIRE_START_GROUP;
  throw new Error(`check-request-codec: unknown field type ${type}`);
}

/** Builds the schemas of all message types in the package definition. */
function buildSchemas(def: protoLoader.PackageDefinition): Map<string, MessageSchema> {
  const descriptors = new ProtoDescriptors(def);
  const resolve = (scope: string, typeName: string): string => {
    const name = descriptors.resolve(scope, typeName);
    if (name === null || !descriptors.messages.has(name)) throw new Error(`check-request-codec: cannot resolve ${typeName} from ${scope}`);
    return name;
  };

  const schemas = new Map<string, MessageSchema>();
  const pending: { spec: FieldSpec; scope: string; typeName: string }[] = [];
  for (const [fullName, d] of descriptors.messages) {
    const fields = new Map<number, FieldSpec>();
    for (const f of d.field) {
      const spec: FieldSpec = {
        name: f.name,
        type: f.type,
        wire: wireOf(f.type),
        long: LONG_TYPES.has(f.type),
        repeated: f.label === 'LABEL_REPEATED',
        packable: f.label === 'LABEL_REPEATED' && !LEN_TYPES.has(f.type) && f.type !== 'TYPE_GROUP',
        group: f.type === 'TYPE_GROUP',
        message: null,
        map: null,
      };
      fields.set(f.number, spec);
      if (f.type === 'TYPE_MESSAGE') pending.push({ spec, scope: fullName, typeName: f.typeName });
    }
    schemas.set(fullName, { fullName, fields, oneofs: d.oneofDecl.length });
  }
  for (const { spec, scope, typeName } of pending) {
    const target = resolve(scope, typeName);
    const entry = descriptors.messages.get(target)!;
    if (entry.options?.mapEntry === true) {
      const s = schemas.get(target)!;
      const key = s.fields.get(1);
      const value = s.fields.get(2);
      if (key === undefined || value === undefined) throw new Error(`check-request-codec: map entry ${target} without key or value`);
      spec.map = { key, value };
    } else {
      spec.message = schemas.get(target)!;
    }
  }
  return schemas;
}

// ---------------------------------------------------------------------------------------
// The wire walk. `Fallback` is thrown (one preallocated value) whenever the input leaves
// the cases where this walk provably reads what protobufjs reads; the caller then runs
// proto-loader's deserialize on the same bytes.

// protobufjs's BufferReader decodes strings with Buffer's own utf8Slice (the same
// replacement of invalid sequences as toString('utf8')); calling it directly skips
// toString's encoding dispatch, which was a quarter of this decoder's time in the profile
// of benchmarks/inproc-codec.mjs --what decode-fast.
type Utf8Sliceable = Buffer & { utf8Slice?: (start: number, end: number) => string };
const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Utf8Sliceable).utf8Slice === 'function'
    ? (buf, start, end) => (buf as Utf8Sliceable).utf8Slice!(start, end)
    : (buf, start, end) => buf.toString('utf8', start, end);

// Most strings in a CheckRequest repeat from one request to the next (header names,
// methods, hosts, principals). Short ASCII ones are looked up in a small table by a hash of
// their bytes and compared character by character, which is cheaper than making a new
// string in C++ (benchmarks/inproc-codec.mjs --what decode-fast: 9.9 → 7.4 µs per request). For ASCII bytes
// the UTF-8 decoding is the bytes themselves, so a hit is exactly what utf8Slice returns.
const INTERN_MAX = 32;
const INTERN_SLOTS = 2048; // a power of two
const interned: string[] = new Array<string>(INTERN_SLOTS).fill('');

function readString(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return '';
  if (n > INTERN_MAX) return utf8Slice(buf, start, end);
  let h = 0x811c9dc5;
  let high = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    high |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (high >= 0x80) return utf8Slice(buf, start, end);
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const candidate = interned[slot]!;
  if (candidate.length === n) {
    let i = 0;
    while (i < n && candidate.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return candidate;
  }
  const s = utf8Slice(buf, start, end);
  interned[slot] = s;
  return s;
}

const PROTO_KEY = Buffer.from('__proto__');

/**
 * Whether buf[start, end) holds exactly the bytes of `want`. A plain loop, not Buffer#compare:
 * the spans are header names, and for a 12-byte one the native call costs ~225 ns here
 * against ~40 ns for the loop.
 */
function bytesEqual(buf: Buffer, start: number, end: number, want: Buffer): boolean {
  const n = end - start;
  if (want.length !== n) return false;
  let i = 0;
  while (i < n && buf[start + i] === want[i]) i++;
  return i === n;
}

/** The header names to keep (lower case), matched as facts.ts looks headers up. */
class WantedHeaders {
  private readonly bytes: readonly Buffer[];
  private readonly lower: ReadonlySet<string>;

  constructor(names: readonly string[]) {
    this.lower = new Set(names.map((n) => n.toLowerCase()));
    this.bytes = [...this.lower].map((n) => Buffer.from(n, 'utf8'));
  }

  /**
   * A `headers` map key: facts.ts looks these up exactly, so the key's bytes are compared
   * with the names' and a header left out is never turned into a string at all.
   */
  hasBytes(buf: Buffer, start: number, end: number): boolean {
    for (const name of this.bytes) if (bytesEqual(buf, start, end, name)) return true;
    return false;
  }

  /** A `header_map` key: facts.ts lower-cases these (String.prototype.toLowerCase). */
  hasFolded(key: string): boolean {
    return this.lower.has(key.toLowerCase());
  }
}

class Fallback {}
const FALLBACK = new Fallback();

/**
 * protobufjs nests at most 100 levels (util.recursionLimit) and throws beyond; real
 * CheckRequests nest fewer than 10. Deeper input falls back, so the limit never decides.
 */
const MAX_DEPTH = 32;

class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    /** The HTTP headers to keep; null keeps them all. */
    readonly wanted: WantedHeaders | null,
  ) {}

  /**
   * A varint as protobufjs's uint32() reads it, when it ends within 5 bytes: the 5th byte
   * contributes its low 4 bits. Longer ones (protobufjs then skips 5 bytes blindly) fall back.
   */
  uint32(limit: number): number {
    const buf = this.buf;
    let p = this.pos;
    if (p >= limit) throw FALLBACK;
    let b = buf[p++]!;
    let v = b & 127;
    if (b < 128) {
      this.pos = p;
      return v;
    }
    for (let shift = 7; shift < 28; shift += 7) {
      if (p >= limit) throw FALLBACK;
      b = buf[p++]!;
      v |= (b & 127) << shift;
      if (b < 128) {
        this.pos = p;
        return v >>> 0;
      }
    }
    if (p >= limit) throw FALLBACK;
    b = buf[p++]!;
    if (b >= 128) throw FALLBACK;
    this.pos = p;
    return (v | ((b & 15) << 28)) >>> 0;
  }

  /** A varint of any length (protobufjs's skip() for an unknown wire-type-0 field). */
  skipVarint(limit: number, maxBytes: number): void {
    const buf = this.buf;
    let p = this.pos;
    const stop = Math.min(limit, p + maxBytes);
    for (;;) {
      if (p >= stop) throw FALLBACK;
      if (buf[p++]! < 128) break;
    }
    this.pos = p;
  }

  skipBytes(n: number, limit: number): void {
    if (n > limit - this.pos) throw FALLBACK;
    this.pos += n;
  }

  /** A length-delimited field's end, within the enclosing message. */
  lenEnd(limit: number): number {
    const n = this.uint32(limit);
    if (n > limit - this.pos) throw FALLBACK;
    return this.pos + n;
  }

  /** A string field (its tag's wire type checked). */
  string(tag: number, limit: number): string {
    if ((tag & 7) !== WIRE_LEN) throw FALLBACK;
    const end = this.lenEnd(limit);
    const s = readString(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  /** A map key's end, or FALLBACK if its bytes are exactly `__proto__` (see skipMapEntry). */
  keyEnd(limit: number): number {
    const end = this.lenEnd(limit);
    if (bytesEqual(this.buf, this.pos, end, PROTO_KEY)) throw FALLBACK;
    return end;
  }

  /**
   * A length-delimited field (its tag's wire type checked) stepped over without decoding;
   * returns where its payload starts (it ends at the new pos), to decode only if kept.
   */
  lenSpan(tag: number, limit: number): number {
    if ((tag & 7) !== WIRE_LEN) throw FALLBACK;
    const end = this.lenEnd(limit);
    const start = this.pos;
    this.pos = end;
    return start;
  }
}

/** protobufjs's skipType for a field no descriptor declares. */
function skipUnknown(c: Cursor, wire: number, limit: number, depth: number): void {
  switch (wire) {
    case WIRE_VARINT:
      c.skipVarint(limit, Infinity);
      return;
    case WIRE_FIXED64:
      c.skipBytes(8, limit);
      return;
    case WIRE_LEN:
      c.pos = c.lenEnd(limit);
      return;
    case WIRE_START_GROUP: {
      if (depth >= MAX_DEPTH) throw FALLBACK;
      // Like protobufjs: any end-group tag closes the group, whatever its field number.
      for (;;) {
        const w = c.uint32(limit) & 7;
        if (w === 4) return;
        skipUnknown(c, w, limit, depth + 1);
      }
    }
    case WIRE_FIXED32:
      c.skipBytes(4, limit);
      return;
    default:
      throw FALLBACK;
  }
}

/** One occurrence of a declared field, read the way protobufjs would, content discarded. */
function skipDeclared(c: Cursor, spec: FieldSpec, wire: number, limit: number, depth: number): void {
  if (wire !== spec.wire || spec.group) throw FALLBACK;
  switch (wire) {
    case WIRE_VARINT:
      c.skipVarint(limit, spec.long ? 10 : 5);
      return;
    case WIRE_FIXED64:
      c.skipBytes(8, limit);
      return;
    case WIRE_FIXED32:
      c.skipBytes(4, limit);
      return;
    default: {
      const end = c.lenEnd(limit);
      if (spec.map !== null) skipMapEntry(c, spec.map, end, depth);
      else if (spec.message !== null) skipMessage(c, spec.message, end, depth + 1);
      else c.pos = end;
    }
  }
}

/** A whole sub-message the output does not need: validated, nothing allocated. */
function skipMessage(c: Cursor, schema: MessageSchema, end: number, depth: number): void {
  if (depth >= MAX_DEPTH) throw FALLBACK;
  while (c.pos < end) {
    const tag = c.uint32(end);
    const spec = schema.fields.get(tag >>> 3);
    if (spec === undefined) skipUnknown(c, tag & 7, end, depth);
    else skipDeclared(c, spec, tag & 7, end, depth);
  }
}

/**
 * A map entry whose content is not needed. protobufjs sets a message-valued entry without
 * its value to null and toObject then throws, and it treats a `__proto__` key specially:
 * both fall back.
 */
function skipMapEntry(c: Cursor, map: MapSchema, end: number, depth: number): void {
  let sawValue = false;
  while (c.pos < end) {
    const tag = c.uint32(end);
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      // A string key read as skipDeclared would, but through keyEnd's `__proto__` check.
      if (map.key.type === 'TYPE_STRING' && wire === WIRE_LEN) c.pos = c.keyEnd(end);
      else skipDeclared(c, map.key, wire, end, depth);
    } else if (field === 2) {
      skipDeclared(c, map.value, wire, end, depth);
      sawValue = true;
    } else {
      skipUnknown(c, wire, end, depth);
    }
  }
  if (map.value.message !== null && !sawValue) throw FALLBACK;
}

// ---------------------------------------------------------------------------------------
// The extracting decoders, one per message on the path to the fields facts.ts reads. A
// field they do not extract goes through the schema like any skipped field.

type Obj = Record<string, unknown>;

interface Schemas {
  readonly checkRequest: MessageSchema;
  readonly attributes: MessageSchema;
  readonly peer: MessageSchema;
  readonly request: MessageSchema;
  readonly http: MessageSchema;
  readonly headerMap: MessageSchema;
  readonly headerValue: MessageSchema;
}

function other(c: Cursor, schema: MessageSchema, tag: number, limit: number, depth: number): void {
  const spec = schema.fields.get(tag >>> 3);
  if (spec === undefined) skipUnknown(c, tag & 7, limit, depth);
  else skipDeclared(c, spec, tag & 7, limit, depth);
}

/**
 * A map<string, string> entry into `into`; repeated keys: the last wins, as in protobufjs.
 * With `wanted`, entries whose key is not in it are walked but not kept, and their value is
 * never decoded (Envoy sends every request header; the decision reads a handful).
 */
function readStringMapEntry(c: Cursor, into: Obj, end: number, depth: number, wanted: WantedHeaders | null): void {
  let keyStart = 0;
  let keyEnd = 0;
  let valueStart = 0;
  let valueEnd = 0;
  while (c.pos < end) {
    const tag = c.uint32(end);
    const field = tag >>> 3;
    if (field === 1) {
      if ((tag & 7) !== WIRE_LEN) throw FALLBACK;
      keyEnd = c.keyEnd(end);
      keyStart = c.pos;
      c.pos = keyEnd;
    } else if (field === 2) {
      valueStart = c.lenSpan(tag, end);
      valueEnd = c.pos;
    } else {
      skipUnknown(c, tag & 7, end, depth);
    }
  }
  if (wanted === null || wanted.hasBytes(c.buf, keyStart, keyEnd)) {
    into[readString(c.buf, keyStart, keyEnd)] = readString(c.buf, valueStart, valueEnd);
  }
}

function lenStart(c: Cursor, tag: number, limit: number): number {
  if ((tag & 7) !== WIRE_LEN) throw FALLBACK;
  return c.lenEnd(limit);
}

function readPeer(c: Cursor, s: Schemas, end: number, depth: number, withCertificate: boolean): Obj {
  const out: Obj = {};
  while (c.pos < end) {
    const tag = c.uint32(end);
    const field = tag >>> 3;
    if (field === PEER_PRINCIPAL || (field === PEER_CERTIFICATE && withCertificate)) {
      out[field === PEER_PRINCIPAL ? 'principal' : 'certificate'] = c.string(tag, end);
    } else {
      other(c, s.peer, tag, end, depth);
    }
  }
  return out;
}

/**
 * One HeaderValue; null when `c.wanted` leaves it out (facts.ts matches these keys without
 * regard to case, so the filter does too). Values of left-out headers are never decoded.
 */
function readHeaderValue(c: Cursor, s: Schemas, end: number, depth: number): Obj | null {
  const out: Obj = {};
  let key: string | null = null;
  let valueStart = -1;
  let valueEnd = -1;
  let rawStart = -1;
  let rawEnd = -1;
  while (c.pos < end) {
    const tag = c.uint32(end);
    switch (tag >>> 3) {
      case HV_KEY:
        key = c.string(tag, end);
        break;
      case HV_VALUE:
        valueStart = c.lenSpan(tag, end);
        valueEnd = c.pos;
        break;
      case HV_RAW_VALUE:
        rawStart = c.lenSpan(tag, end);
        rawEnd = c.pos;
        break;
      default:
        other(c, s.headerValue, tag, end, depth);
    }
  }
  if (c.wanted !== null && (key === null || !c.wanted.hasFolded(key))) return null;
  // Field order as protobufjs builds the object: key, value, raw_value.
  if (key !== null) out['key'] = key;
  if (valueStart >= 0) out['value'] = readString(c.buf, valueStart, valueEnd);
  // Same as protobufjs's BufferReader: a view on the frame, or a fresh empty Buffer.
  if (rawStart >= 0) out['raw_value'] = rawStart === rawEnd ? Buffer.alloc(0) : c.buf.subarray(rawStart, rawEnd);
  return out;
}

function readHeaderMap(c: Cursor, s: Schemas, end: number, depth: number): Obj {
  const list: Obj[] = [];
  while (c.pos < end) {
    const tag = c.uint32(end);
    if (tag >>> 3 === HM_HEADERS) {
      const h = readHeaderValue(c, s, lenStart(c, tag, end), depth + 1);
      if (h !== null) list.push(h);
    } else {
      other(c, s.headerMap, tag, end, depth);
    }
  }
  return list.length > 0 ? { headers: list } : {};
}

function readHttp(c: Cursor, s: Schemas, end: number, depth: number): Obj {
  const out: Obj = {};
  let headers: Obj | null = null;
  let sawHeaders = false;
  while (c.pos < end) {
    const tag = c.uint32(end);
    switch (tag >>> 3) {
      case HTTP_METHOD:
        out['method'] = c.string(tag, end);
        break;
      case HTTP_PATH:
        out['path'] = c.string(tag, end);
        break;
      case HTTP_HOST:
        out['host'] = c.string(tag, end);
        break;
      case HTTP_HEADERS:
        headers ??= {};
        sawHeaders = true;
        readStringMapEntry(c, headers, lenStart(c, tag, end), depth, c.wanted);
        break;
      case HTTP_HEADER_MAP:
        out['header_map'] = readHeaderMap(c, s, lenStart(c, tag, end), depth + 1);
        break;
      default:
        other(c, s.http, tag, end, depth);
    }
  }
  // facts.ts reads `header_map` only when `headers` is empty; once filtered, an empty
  // `headers` could mean either. Envoy never sends both; such a request takes the full decode.
  if (c.wanted !== null && sawHeaders && out['header_map'] !== undefined) throw FALLBACK;
  if (headers !== null && Object.keys(headers).length > 0) out['headers'] = headers;
  return out;
}

function readRequest(c: Cursor, s: Schemas, end: number, depth: number): Obj {
  const out: Obj = {};
  while (c.pos < end) {
    const tag = c.uint32(end);
    if (tag >>> 3 === REQUEST_HTTP) out['http'] = readHttp(c, s, lenStart(c, tag, end), depth + 1);
    else other(c, s.request, tag, end, depth);
  }
  return out;
}

function readAttributes(c: Cursor, s: Schemas, end: number, depth: number): Obj {
  const out: Obj = {};
  let ext: Obj | null = null;
  while (c.pos < end) {
    const tag = c.uint32(end);
    switch (tag >>> 3) {
      case ATTR_SOURCE:
        out['source'] = readPeer(c, s, lenStart(c, tag, end), depth + 1, true);
        break;
      case ATTR_DESTINATION:
        out['destination'] = readPeer(c, s, lenStart(c, tag, end), depth + 1, false);
        break;
      case ATTR_REQUEST:
        out['request'] = readRequest(c, s, lenStart(c, tag, end), depth + 1);
        break;
      case ATTR_CONTEXT_EXTENSIONS:
        ext ??= {};
        readStringMapEntry(c, ext, lenStart(c, tag, end), depth, null);
        break;
      default:
        other(c, s.attributes, tag, end, depth);
    }
  }
  if (ext !== null && Object.keys(ext).length > 0) out['context_extensions'] = ext;
  return out;
}

function readCheckRequest(c: Cursor, s: Schemas): Obj {
  const end = c.buf.length;
  const out: Obj = {};
  while (c.pos < end) {
    const tag = c.uint32(end);
    // A sub-message field seen twice: protobufjs keeps the last one whole (no merge).
    if (tag >>> 3 === CR_ATTRIBUTES) out['attributes'] = readAttributes(c, s, lenStart(c, tag, end), 1);
    else other(c, s.checkRequest, tag, end, 0);
  }
  return out;
}

// Field numbers from envoy/service/auth/v3/{external_auth,attribute_context}.proto and
// envoy/config/core/v3/base.proto; prepare() checks each against the loaded descriptors.
const CR_ATTRIBUTES = 1;
const ATTR_SOURCE = 1;
const ATTR_DESTINATION = 2;
const ATTR_REQUEST = 4;
const ATTR_CONTEXT_EXTENSIONS = 10;
const PEER_PRINCIPAL = 4;
const PEER_CERTIFICATE = 5;
const REQUEST_HTTP = 2;
const HTTP_METHOD = 2;
const HTTP_HEADERS = 3;
const HTTP_PATH = 4;
const HTTP_HOST = 5;
const HTTP_HEADER_MAP = 13;
const HM_HEADERS = 1;
const HV_KEY = 1;
const HV_VALUE = 2;
const HV_RAW_VALUE = 3;

/** [message, field number, name, type, map or message type] checked at prepare(). */
const EXPECTED: readonly (readonly [string, number, string, string, string | null])[] = [
  ['envoy.service.auth.v3.CheckRequest', CR_ATTRIBUTES, 'attributes', 'TYPE_MESSAGE', 'envoy.service.auth.v3.AttributeContext'],
  ['envoy.service.auth.v3.AttributeContext', ATTR_SOURCE, 'source', 'TYPE_MESSAGE', 'envoy.service.auth.v3.AttributeContext.Peer'],
  ['envoy.service.auth.v3.AttributeContext', ATTR_DESTINATION, 'destination', 'TYPE_MESSAGE', 'envoy.service.auth.v3.AttributeContext.Peer'],
  ['envoy.service.auth.v3.AttributeContext', ATTR_REQUEST, 'request', 'TYPE_MESSAGE', 'envoy.service.auth.v3.AttributeContext.Request'],
  ['envoy.service.auth.v3.AttributeContext', ATTR_CONTEXT_EXTENSIONS, 'context_extensions', 'TYPE_MESSAGE', 'map<string,string>'],
  ['envoy.service.auth.v3.AttributeContext.Peer', PEER_PRINCIPAL, 'principal', 'TYPE_STRING', null],
  ['envoy.service.auth.v3.AttributeContext.Peer', PEER_CERTIFICATE, 'certificate', 'TYPE_STRING', null],
  ['envoy.service.auth.v3.AttributeContext.Request', REQUEST_HTTP, 'http', 'TYPE_MESSAGE', 'envoy.service.auth.v3.AttributeContext.HttpRequest'],
  ['envoy.service.auth.v3.AttributeContext.HttpRequest', HTTP_METHOD, 'method', 'TYPE_STRING', null],
  ['envoy.service.auth.v3.AttributeContext.HttpRequest', HTTP_HEADERS, 'headers', 'TYPE_MESSAGE', 'map<string,string>'],
  ['envoy.service.auth.v3.AttributeContext.HttpRequest', HTTP_PATH, 'path', 'TYPE_STRING', null],
  ['envoy.service.auth.v3.AttributeContext.HttpRequest', HTTP_HOST, 'host', 'TYPE_STRING', null],
  ['envoy.service.auth.v3.AttributeContext.HttpRequest', HTTP_HEADER_MAP, 'header_map', 'TYPE_MESSAGE', 'envoy.config.core.v3.HeaderMap'],
  ['envoy.config.core.v3.HeaderMap', HM_HEADERS, 'headers', 'TYPE_MESSAGE', 'envoy.config.core.v3.HeaderValue'],
  ['envoy.config.core.v3.HeaderValue', HV_KEY, 'key', 'TYPE_STRING', null],
  ['envoy.config.core.v3.HeaderValue', HV_VALUE, 'value', 'TYPE_STRING', null],
  ['envoy.config.core.v3.HeaderValue', HV_RAW_VALUE, 'raw_value', 'TYPE_BYTES', null],
];

interface Prepared {
  readonly schemas: Schemas;
  readonly deserialize: (bytes: Buffer) => unknown;
}

let prepared: Prepared | null = null;

function codec(): Prepared {
  return (prepared ??= prepare());
}

/**
 * Derives the schemas and checks the extracted field numbers against the descriptors;
 * throws (at start, never per request) if the protos disagree with this file.
 */
export function prepareCheckRequestCodec(): void {
  codec();
}

const typeLabel = (type: string): string => (type === 'TYPE_STRING' ? 'string' : type);

function prepare(): Prepared {
  const all = buildSchemas(loadExtAuthzDefinition());
  const get = (name: string): MessageSchema => {
    const s = all.get(name);
    if (s === undefined) throw new Error(`check-request-codec: ${name} is not in the loaded protos`);
    return s;
  };
  for (const [message, number, name, type, target] of EXPECTED) {
    const f = get(message).fields.get(number);
    const to = f === undefined ? '' : f.map !== null ? `map<${typeLabel(f.map.key.type)},${typeLabel(f.map.value.type)}>` : (f.message?.fullName ?? 'null');
    const actual = f === undefined ? 'absent' : `${f.name} ${f.type} ${to}`;
    const expected = `${name} ${type} ${target ?? 'null'}`;
    if (actual !== expected) throw new Error(`check-request-codec: ${message} field ${number} is ${actual}, expected ${expected}`);
  }
  const schemas: Schemas = {
    checkRequest: get('envoy.service.auth.v3.CheckRequest'),
    attributes: get('envoy.service.auth.v3.AttributeContext'),
    peer: get('envoy.service.auth.v3.AttributeContext.Peer'),
    request: get('envoy.service.auth.v3.AttributeContext.Request'),
    http: get('envoy.service.auth.v3.AttributeContext.HttpRequest'),
    headerMap: get('envoy.config.core.v3.HeaderMap'),
    headerValue: get('envoy.config.core.v3.HeaderValue'),
  };
  // With `oneofs: true` proto-loader adds a virtual field per oneof; none of the messages
  // this file builds has one, and if a proto update adds one the output would differ.
  for (const s of Object.values(schemas)) {
    if (s.oneofs > 0) throw new Error(`check-request-codec: ${s.fullName} has a oneof; the decoder does not emit oneof names`);
  }
  return { schemas, deserialize: checkMethodDefinition().requestDeserialize };
}

/** proto-loader's full deserialize of a CheckRequest (what grpc-js did before this codec). */
export function fullDecodeCheckRequest(bytes: Buffer): unknown {
  return codec().deserialize(bytes);
}

function decodeWith(p: Prepared, bytes: Buffer, wanted: WantedHeaders | null): object {
  if (!Buffer.isBuffer(bytes)) return p.deserialize(bytes) as object;
  try {
    return readCheckRequest(new Cursor(bytes, wanted), p.schemas);
  } catch {
    // FALLBACK, or (a bug here) anything else: proto-loader decides, exactly as before.
    return p.deserialize(bytes) as object;
  }
}

/**
 * The CheckRequest fields facts.ts reads, as proto-loader would decode them. Throws only
 * where proto-loader's deserialize throws on the same bytes (the server's decoder below
 * turns that into UNDECODABLE_CHECK_REQUEST).
 */
export function decodeCheckRequest(bytes: Buffer): object {
  return decodeWith(codec(), bytes, null);
}

/**
 * decodeCheckRequest, keeping only the HTTP headers named in `wantedHeaders` (lower case:
 * facts.ts's factsHeaderNames()). The result is proto-loader's object with every other
 * header left out, so extractFacts reads the same facts from it. The server's decoder:
 * never throws; bytes that do not decode give UNDECODABLE_CHECK_REQUEST.
 */
export function createCheckRequestDecoder(wantedHeaders: readonly string[]): (bytes: Buffer) => object {
  // Prepared here, once, rather than looked up on every request.
  const p = codec();
  const wanted = new WantedHeaders(wantedHeaders);
  return (bytes) => {
    try {
      return decodeWith(p, bytes, wanted);
    } catch {
      return UNDECODABLE_CHECK_REQUEST;
    }
  };
}

/**
 * What the server's decoder hands the Check handler for bytes that are no CheckRequest
 * (proto-loader's deserialize throws on them). A throw would make grpc-js fail the call with
 * INTERNAL, which an Envoy with `failure_mode_allow` lets through; SPEC section 5 has the RPC
 * always succeed, so the handler answers it as a BAD_REQUEST denial. Empty, like a request
 * without attributes, so anything that reads it finds no facts.
 */
export const UNDECODABLE_CHECK_REQUEST: object = Object.freeze({});

/** For tests: which path a frame takes (true: the fast decoder, false: the fallback). */
export function decodesWithoutFallback(bytes: Buffer): boolean {
  const { schemas } = codec();
  try {
    readCheckRequest(new Cursor(bytes, null), schemas);
    return true;
  } catch (err) {
    if (err !== FALLBACK) throw err;
    return false;
  }
}
